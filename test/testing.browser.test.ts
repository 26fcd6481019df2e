// The testing pages in a real browser against the real server on a generated city: a city user starts a
// round with the form; a sampler on a phone opens a tube, adds persons by personal code, is refused an
// unknown code and closes the tube; a lab uploads a bad CSV (the line is named) and a good one; the city user
// sees who is still missing and downloads the list. Screenshots go to /tmp/cordon-testing-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testContext, testServer, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { generateCity, loadCity } from '../src/sim/index.ts';

if (!haveBrowser) console.warn(`testing.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const CITY = { username: 'city', password: 'city-browser-pw' };
const SAMPLER = { username: 'sampler', password: 'sampler-browser-pw' };
const LAB = { username: 'lab', password: 'lab-browser-pw' };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

describe.skipIf(!haveBrowser)('testing pages in Chromium', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let browser: Browser;
  let city: Page;
  let street: { id: number; code: string; persons: number };
  let pointId: number;
  let labId: number;
  let campaignId: number;
  let codes: string[];
  const barcode = 'WEB00001';

  beforeAll(async () => {
    buildWeb();
    ctx = await testContext();
    await loadCity(ctx, generateCity({ persons: 3000, seed: 11 }));
    // A small street that has a sampling point: its round's missing list fits on the page.
    [street] = await ctx.db.query<{ id: number; code: string; persons: number }>(
      `SELECT s.id, s.code, count(*)::int AS persons FROM streets s JOIN persons p ON p.street_id = s.id
        WHERE EXISTS (SELECT 1 FROM sampling_points sp WHERE sp.street_id = s.id)
        GROUP BY s.id, s.code HAVING count(*) >= 12 ORDER BY count(*), s.id LIMIT 1`,
    );
    expect(street).toBeDefined();
    [{ id: pointId }] = await ctx.db.query<{ id: number }>('SELECT id FROM sampling_points WHERE street_id = $1 ORDER BY id LIMIT 1', [street.id]);
    [{ id: labId }] = await ctx.db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
    codes = (await ctx.db.query<{ code: string }>('SELECT personal_code AS code FROM persons WHERE street_id = $1 ORDER BY id LIMIT 2', [street.id])).map((r) => r.code);
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...CITY, role: 'city_command' }, new Date());
      await createUser(q, { ...SAMPLER, role: 'sampler', streetId: street.id }, new Date());
      await createUser(q, { ...LAB, role: 'lab', labId }, new Date());
    });
    srv = await testServer(ctx);
    browser = await launchBrowser();
    city = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    city.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await ctx?.close();
  });

  it('lets a city user start a round over a street with the form', async () => {
    await signIn(city, srv.url, '/campaigns.html', CITY);
    await city.waitForSelector('#campaign-list[data-count="0"]');
    await city.click('#new-campaign');
    await city.fill('#cf-name', '街镇筛查 第1轮');
    await city.selectOption('#cf-level', 'street');
    await city.fill('#cf-area-q', street.code);
    await city.check(`#cf-areas input[value="${street.id}"]`);
    await city.selectOption('#cf-group', 'controlled');
    await city.screenshot({ path: '/tmp/cordon-testing-campaign-form-zh.png' });
    await city.click('#cf-submit');
    await city.locator('#notice').waitFor({ state: 'visible' });
    expect(await city.locator('#notice').textContent()).toContain(`应检 ${street.persons.toLocaleString('zh-CN')} 人`);
    const [c] = await ctx.db.query<{ id: number; n: number }>('SELECT c.id, (SELECT count(*)::int FROM campaign_expected e WHERE e.campaign_id = c.id) AS n FROM campaigns c');
    campaignId = c.id;
    expect(c.n).toBe(street.persons);
    await city.waitForSelector(`#stat-missing[data-value="${street.persons}"]`);
  });

  describe('a sampler on a phone', () => {
    let phone: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
      page = await phone.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
    });
    afterAll(() => phone?.close());

    it('signs in and chooses the sampling point and the round', async () => {
      await signIn(page, srv.url, '/sampler.html', SAMPLER);
      await page.waitForSelector(`#point option[value="${pointId}"]`, { state: 'attached' });
      // The navigation shows the sampler the sampling page, not the campaigns or the lab.
      expect(await page.locator('#nav-sampler').count()).toBe(1);
      expect(await page.locator('#nav-campaigns').count()).toBe(0);
      expect(await page.locator('#nav-lab').count()).toBe(0);
      await page.selectOption('#point', String(pointId));
      await page.selectOption('#campaign', String(campaignId));
      // The round's default group (controlled, 10-in-1) is taken when the sampler does not pick one.
      expect(await page.inputValue('#group')).toBe('controlled');
      await page.screenshot({ path: '/tmp/cordon-testing-sampler-setup-zh.png' });
      await page.click('#setup-done');
      expect(await page.evaluate('document.activeElement.id')).toBe('barcode');
    });

    it('opens a tube with a scanned barcode and adds two persons by personal code', async () => {
      // A scanner types the code into the focused input and presses Enter.
      await page.keyboard.type(barcode);
      await page.keyboard.press('Enter');
      await page.locator('#person-step').waitFor({ state: 'visible' });
      expect(await page.locator('#tube-barcode').textContent()).toBe(barcode);
      expect(await page.locator('#tube-count').textContent()).toBe('0/10');
      expect(await page.evaluate('document.activeElement.id')).toBe('person');
      for (const code of codes) {
        await page.keyboard.type(code);
        await page.keyboard.press('Enter');
      }
      await page.waitForFunction(`document.querySelector('#tube-count').textContent === '2/10'`);
      const names = await page.locator('#members .member-name').allTextContents();
      expect(names).toHaveLength(2);
      // Masked as the API gives them: the middle of a name is hidden.
      for (const n of names) expect(n).toMatch(/\*/);
      expect(await page.getAttribute('#feedback', 'data-kind')).toBe('ok');
    });

    it('shows a refusal for an unknown code in red and keeps the input focused', async () => {
      await page.keyboard.type('NOBODY123');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#feedback[data-kind="error"]');
      // In the reader's language, the server's words in the title.
      expect(await page.getAttribute('#feedback', 'data-code')).toBe('personUnknown');
      expect(await page.locator('#feedback .feedback-detail').textContent()).toBe('查无个人码或身份证号为 NOBODY123 的人员，或不在您的辖区内');
      expect(await page.locator('#feedback .feedback-detail').getAttribute('title')).toBe('Person with code or ID number NOBODY123 does not exist or is outside your jurisdiction.');
      expect(await page.evaluate('document.activeElement.id')).toBe('person');
      expect(await page.inputValue('#person')).toBe('NOBODY123');
      const colour = await page.locator('#feedback').evaluate((el) => getComputedStyle(el).borderColor);
      expect(colour).toBe('rgb(240, 82, 82)');
      expect(await page.locator('#tube-count').textContent()).toBe('2/10');
      // A tube's barcode scanned as a person: re-pooling, refused by the server with its reason.
      await page.fill('#person', barcode);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#feedback[data-code="isTube"]');
      expect(await page.locator('#feedback .feedback-detail').textContent()).toBe(`${barcode} 是一支试管：试管不能放入另一支试管（不允许再混管）`);
      expect(await page.inputValue('#person')).toBe(barcode);
      await page.fill('#person', 'NOBODY123');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#feedback[data-code="personUnknown"]');
      expect(await page.locator('#tube-count').textContent()).toBe('2/10');
      await page.screenshot({ path: '/tmp/cordon-testing-sampler-refused-zh.png', fullPage: true });
    });

    it('closes the tube, is ready for the next barcode, and reports the queue', async () => {
      await page.click('#close-tube');
      await page.locator('#tube-step').waitFor({ state: 'visible' });
      expect(await page.getAttribute('#feedback', 'data-kind')).toBe('ok');
      expect(await page.evaluate('document.activeElement.id')).toBe('barcode');
      const [tube] = await ctx.db.query<{ closed: boolean; n: number }>('SELECT closed_at IS NOT NULL AS closed, (SELECT count(*)::int FROM samples s WHERE s.tube_id = t.id) AS n FROM tubes t WHERE barcode = $1', [barcode]);
      expect(tube).toEqual({ closed: true, n: 2 });
      await page.fill('#waiting', '12');
      await page.click('#report-queue');
      await page.waitForFunction(`document.querySelector('#tp-waiting .stat-value')?.textContent === '12'`);
      expect(await page.locator('#tp-hour .stat-value').textContent()).toBe('2');
      await page.screenshot({ path: '/tmp/cordon-testing-sampler-zh.png', fullPage: true });
    });

    it('reads the same in English', async () => {
      await page.click('#lang-switch');
      await page.waitForLoadState('load');
      await page.waitForSelector('#tp-waiting');
      expect(await page.locator('#nav-sampler').textContent()).toBe('Sampling');
      expect(await page.locator('label[for="barcode"]').textContent()).toBe("Scan a tube's barcode to open it");
      await page.screenshot({ path: '/tmp/cordon-testing-sampler-en.png', fullPage: true });
    });
  });

  describe('a lab', () => {
    let lab: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      lab = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
      page = await lab.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
    });
    afterAll(() => lab?.close());

    const upload = async (name: string, csv: string) => {
      await page.setInputFiles('#file', { name, mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.click('#upload-submit');
    };
    const resultedAt = () => new Date().toISOString();

    it('is refused a CSV with a bad line, which is named by its number, and nothing is written', async () => {
      await signIn(page, srv.url, '/lab.html', LAB);
      await page.waitForSelector('#load .meter');
      expect(await page.locator('#nav-lab').count()).toBe(1);
      await upload('bad.csv', `barcode,result,ct_orf1ab,ct_n,resulted_at\n${barcode},negative,,,${resultedAt()}\n${barcode},maybe,,,${resultedAt()}\n`);
      await page.waitForSelector('#report[data-state="rejected"]');
      // In the reader's language; the server's words in the title.
      const line3 = page.locator('#rejected tr[data-line="3"] td.reason');
      expect(await line3.textContent()).toBe('结果“maybe”不是阳性、阴性或无效');
      expect(await line3.getAttribute('title')).toBe("result 'maybe' is not positive, negative or invalid");
      expect(await ctx.db.query('SELECT 1 FROM lab_results')).toHaveLength(0);
      await page.screenshot({ path: '/tmp/cordon-testing-lab-rejected-zh.png', fullPage: true });
    });

    it('uploads a good CSV and sees how many results were applied', async () => {
      await upload('good.csv', `barcode,result,ct_orf1ab,ct_n,resulted_at\n${barcode},negative,,,${resultedAt()}\n`);
      await page.waitForSelector('#report[data-state="accepted"]');
      expect(await page.getAttribute('#r-applied', 'data-value')).toBe('1');
      expect(await page.getAttribute('#r-positives', 'data-value')).toBe('0');
      await page.waitForFunction(`document.querySelector('#load-resulted b')?.textContent === '1'`);
      // A second, different result for the tube is kept as a conflict and listed, never applied.
      await upload('again.csv', `barcode,result,ct_orf1ab,ct_n,resulted_at\n${barcode},positive,30,31,${resultedAt()}\n`);
      await page.waitForSelector('#r-conflicts[data-value="1"]');
      await page.waitForSelector('#conflicts[data-rows="1"]');
      expect(await page.locator('#conflicts tbody tr').textContent()).toContain(barcode);
      await page.screenshot({ path: '/tmp/cordon-testing-lab-zh.png', fullPage: true });
      await page.click('#lang-switch');
      await page.waitForLoadState('load');
      await page.waitForSelector('#load .meter');
      await page.screenshot({ path: '/tmp/cordon-testing-lab-en.png', fullPage: true });
    });
  });

  it('shows the city user who is still missing, grouped by compound and building, with a working CSV link', async () => {
    await city.goto(`${srv.url}/campaigns.html?id=${campaignId}`);
    const missing = street.persons - 2;
    await city.waitForSelector(`#stat-missing[data-value="${missing}"]`);
    await city.waitForSelector('#street-chart[data-ready="true"]');
    expect(await city.getAttribute('#stat-sampled', 'data-value')).toBe('2');
    expect(await city.getAttribute('#stat-resulted', 'data-value')).toBe('2');
    expect(await city.getAttribute('#coverage', 'data-missing')).toBe(String(missing));
    expect(await city.locator('#coverage tr[data-person]').count()).toBe(missing);
    const [{ compounds }] = await ctx.db.query<{ compounds: number }>('SELECT count(DISTINCT compound_id)::int AS compounds FROM persons WHERE street_id = $1', [street.id]);
    expect(await city.locator('#coverage .cov-compound').count()).toBe(compounds);
    await city.screenshot({ path: '/tmp/cordon-testing-campaigns-zh.png', fullPage: true });

    const [download] = await Promise.all([city.waitForEvent('download'), city.click('#coverage-csv')]);
    const csv = await readFile((await download.path())!, 'utf8');
    const lines = csv.trim().split('\n');
    expect(lines[0]).toMatch(/^person_id,name,phone,/);
    expect(lines).toHaveLength(missing + 1);

    await city.click('#lang-switch');
    await city.waitForLoadState('load');
    await city.waitForSelector('#street-chart[data-ready="true"]');
    expect(await city.locator('#coverage-count').textContent()).toBe(`${missing} persons not sampled`);
    await city.screenshot({ path: '/tmp/cordon-testing-campaigns-en.png', fullPage: true });
    // A street worker walks with a phone: the same page on a narrow screen.
    await city.setViewportSize(PHONE.viewport);
    await city.waitForTimeout(200);
    await city.screenshot({ path: '/tmp/cordon-testing-campaigns-phone-en.png' });
  });
});
