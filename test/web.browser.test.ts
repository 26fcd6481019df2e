// The web pages in a real browser against the real server: sign-in (wrong and right password), the city map
// drawn from the registry's GeoJSON, a registry table with search and keyset paging, the language switch.
// Screenshots go to /tmp/cordon-*.png for a person to look at.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { testContext, testServer, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { generateCity, loadCity } from '../src/sim/index.ts';

if (!haveBrowser) console.warn(`web.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const USER = { username: 'city', password: 'city-browser-pw' };
const LAB = { username: 'lab', password: 'lab-browser-pw' };

describe.skipIf(!haveBrowser)('web pages in Chromium', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    buildWeb();
    ctx = await testContext();
    await loadCity(ctx, generateCity({ persons: 3000, seed: 11 }));
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...USER, role: 'city_command' }, new Date());
      const [lab] = await q.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
      await createUser(q, { ...LAB, role: 'lab', labId: lab.id }, new Date());
    });
    srv = await testServer(ctx);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await ctx?.close();
  });

  const waitForMap = async () => {
    await page.waitForSelector('#map[data-ready="true"]', { timeout: 30_000 });
    return Number(await page.getAttribute('#map', 'data-compounds'));
  };

  it('sends a visitor without a session to the sign-in page', async () => {
    await page.goto(srv.url + '/');
    await page.waitForURL(/\/login\.html/);
    await expect(page.locator('h1').textContent()).resolves.toBe('城市疫情防控指挥平台');
    await page.screenshot({ path: '/tmp/cordon-login-zh.png' });
  });

  it('shows the server’s reason when the password is wrong', async () => {
    await page.fill('#username', USER.username);
    await page.fill('#password', 'not-the-password');
    await page.click('#login-submit');
    const error = page.locator('#login-error');
    await error.waitFor({ state: 'visible' });
    // The reason in the page's language (the server sends a code beside its English words).
    expect(await error.textContent()).toBe('登录失败用户名或密码错误');
    expect(page.url()).toMatch(/\/login\.html/);
    await page.screenshot({ path: '/tmp/cordon-login-error-zh.png' });
  });

  it('signs in through the form and draws every compound on the map', async () => {
    await page.fill('#password', USER.password);
    await page.click('#login-submit');
    await page.waitForURL((u) => u.pathname === '/');
    const drawn = await waitForMap();
    const [{ n }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM compounds');
    expect(n).toBeGreaterThan(0);
    expect(drawn).toBe(n);
    expect(await page.locator('.user-name').textContent()).toBe(USER.username);
    expect(await page.locator('.user-role').textContent()).toBe('市级指挥部');
    // Not blank: a drawn map has many colours (fills, outlines, labels); an empty canvas has one.
    const colours = await page.evaluate(`(() => {
      const c = document.querySelector('#map canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4 * 5) seen.add((d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3]);
      return seen.size;
    })()`);
    expect(colours).toBeGreaterThan(50);
    // Hovering a compound shows its name, code and population.
    const box = (await page.locator('#map').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForTimeout(400);
    await page.screenshot({ path: '/tmp/cordon-map-zh.png' });
  });

  it('switches the language to English and keeps it across pages', async () => {
    await page.click('#lang-switch');
    await page.waitForLoadState('load');
    await waitForMap();
    expect(await page.locator('.user-role').textContent()).toBe('City command');
    expect(await page.locator('#nav-map').textContent()).toBe('City map');
    expect(await page.evaluate('localStorage.getItem("cordon.lang")')).toBe('en');
    await page.screenshot({ path: '/tmp/cordon-map-en.png' });
  });

  it('lists persons with masked ID numbers, pages by keyset and finds a person by name', async () => {
    await page.click('#nav-persons');
    await page.waitForURL(/entity=persons/);
    await page.waitForSelector('#table[data-rows="50"]');
    const firstPageIds = await page.locator('#table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    // Masked as the API gives it: region and check digits only, never the whole number.
    const idCells = await page.locator('#table tbody tr td:nth-child(2)').allTextContents();
    for (const c of idCells) expect(c).toMatch(/^\d{4}\*+[\dX]{2}$/);
    await page.screenshot({ path: '/tmp/cordon-persons-en.png' });

    await page.click('#next');
    await page.waitForFunction(`document.querySelector('#page-no').textContent === 'Page 2'`);
    await page.waitForSelector('#list[aria-busy="false"]');
    const secondPageIds = await page.locator('#table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(secondPageIds.length).toBeGreaterThan(0);
    expect(secondPageIds.some((id) => firstPageIds.includes(id))).toBe(false);

    // A rare name from the end of the list, so that the hit cannot be on the first page by chance.
    const [target] = await ctx.db.query<{ id: number; name: string }>(
      `SELECT max(id) AS id, name FROM persons GROUP BY name ORDER BY count(*), max(id) DESC LIMIT 1`,
    );
    await page.fill('#q', target.name);
    await page.click('#search button[type=submit]');
    await page.waitForSelector(`#table tbody tr[data-id="${target.id}"]`);
    const names = await page.locator('#table tbody tr td:nth-child(1)').allTextContents();
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toContain(target.name);
    await page.click(`#table tbody tr[data-id="${target.id}"]`);
    await page.locator('#detail').waitFor({ state: 'visible' });
    await page.waitForSelector('#detail dl.fields');
    await page.screenshot({ path: '/tmp/cordon-persons-search-en.png' });
  });

  it('shows the other registry tables', async () => {
    for (const entity of ['compounds', 'venues', 'sampling-points', 'labs', 'facilities']) {
      await page.goto(`${srv.url}/registry.html?entity=${entity}`);
      await page.waitForSelector('#list[aria-busy="false"]');
      expect(await page.locator('#message').isHidden(), `${entity}: ${await page.locator('#message').textContent()}`).toBe(true);
      expect(Number(await page.getAttribute('#table', 'data-rows'))).toBeGreaterThan(0);
    }
    await page.screenshot({ path: '/tmp/cordon-facilities-en.png' });
    await page.evaluate('localStorage.setItem("cordon.lang", "zh-CN")');
    await page.goto(`${srv.url}/registry.html?entity=venues`);
    await page.waitForSelector('#list[aria-busy="false"]');
    await page.screenshot({ path: '/tmp/cordon-venues-zh.png' });
  });

  it('shows a refusal with the server’s reason, and leaves out links the role may not use', async () => {
    const other = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const lab = await other.newPage();
      await signIn(lab, srv.url, '/registry.html?entity=persons', LAB);
      await lab.locator('#message').waitFor({ state: 'visible' });
      // The role worded from the problem's code and values, in the page's language.
      expect(await lab.locator('#message').textContent()).toBe('出错了 您的角色（检测机构）不能执行此操作');
      expect(await lab.getAttribute('#message .error-text', 'title')).toMatch(/you are lab\.$/);
      expect(await lab.locator('#nav-persons').count()).toBe(0);
      expect(await lab.locator('#nav-labs').count()).toBe(1);
      await lab.screenshot({ path: '/tmp/cordon-refused-zh.png' });
    } finally {
      await other.close();
    }
  });

  it('signs out back to the sign-in page, and the session is gone', async () => {
    await page.click('#sign-out');
    await page.waitForURL(/\/login\.html/);
    await page.goto(srv.url + '/registry.html?entity=persons');
    await page.waitForURL(/\/login\.html\?next=/);
  });
});
