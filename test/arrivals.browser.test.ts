// Recording an arrival into the city from a person's card in the registry, in a real browser against the real
// server: a street worker finds a resident of their street, sees no arrival yet, is refused one still to come
// (the server's reason in the page's language, nothing recorded), records an inbound traveller and sees it
// listed with the quarantine order it got; the person's status is red with the arrival as its reason. An
// arrival from a low-risk area gets no order, and its person reads on their phone the tests asked of them.
// Screenshots: /tmp/cordon-arrival.png, /tmp/cordon-arrival-low-risk.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { testContext, testServer, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { generateCity, loadCity } from '../src/sim/index.ts';

if (!haveBrowser) console.warn(`arrivals.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const STREET = { username: 'street', password: 'street-browser-pw' };
const CITY = { username: 'city', password: 'city-browser-pw' };
const RESIDENT = { username: 'neighbour', password: 'neighbour-browser-pw' };

describe.skipIf(!haveBrowser)('recording an arrival in Chromium', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  let person: { id: number; name: string; street: number };
  let neighbour: { id: number; name: string };

  beforeAll(async () => {
    buildWeb();
    // 14:00 in Shanghai.
    ctx = await testContext({ now: new Date('2022-04-10T06:00:00Z') });
    await loadCity(ctx, generateCity({ persons: 2000, seed: 12 }));
    [person] = await ctx.db.query<{ id: number; name: string; street: number }>('SELECT id, name, street_id AS street FROM persons ORDER BY id DESC LIMIT 1');
    [neighbour] = await ctx.db.query<{ id: number; name: string }>('SELECT id, name FROM persons WHERE street_id = $1 AND id <> $2 ORDER BY id DESC LIMIT 1', [person.street, person.id]);
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...STREET, role: 'street_worker', streetId: person.street }, new Date());
      await createUser(q, { ...CITY, role: 'city_command' }, new Date());
      await createUser(q, { ...RESIDENT, role: 'resident', personId: neighbour.id }, new Date());
    });
    srv = await testServer(ctx);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await ctx?.close();
  });

  it('records an inbound traveller from the person’s card, after refusing an arrival still to come', async () => {
    await signIn(page, srv.url, `/registry.html?entity=persons&q=${encodeURIComponent(person.name)}`, STREET);
    await page.click(`#table tbody tr[data-id="${person.id}"]`);
    await page.waitForSelector('#arrivals');
    expect(await page.locator('#arrivals').textContent()).toContain('尚无登记');

    await page.selectOption('#arrival-kind', 'inbound');
    await page.fill('#arrival-origin', '新加坡');
    await page.fill('#arrival-at', '2022-04-11T10:30');
    await page.click('#arrival-submit');
    const note = page.locator('#arrival-note[data-kind="error"]');
    await note.waitFor({ state: 'visible' });
    expect(await note.textContent()).toMatch(/^400 · .*尚未到来：抵达后再登记$/);
    expect((await srv.call('GET', `/api/v1/persons/${person.id}/arrivals`, { as: await srv.login(CITY.username, CITY.password) })).body.items).toEqual([]);

    await page.fill('#arrival-at', '2022-04-10T10:30');
    await page.click('#arrival-submit');
    const done = page.locator('#arrival-note[data-kind="done"]');
    await done.waitFor({ state: 'visible' });
    // The preset's order for an inbound traveller (shanghai-2022-05: 14 days central, then 7 at home), from the arrival.
    expect(await done.textContent()).toMatch(/^已登记，并下达隔离令：集中隔离至 .*24.*，再居家隔离至 .*5.*1.*，已排入转运队列；/);
    expect(await page.locator('#arrival-list li').allTextContents()).toEqual([expect.stringMatching(/ · 入境人员 · 来自 新加坡$/)]);
    await done.scrollIntoViewIfNeeded();
    await page.screenshot({ path: '/tmp/cordon-arrival.png' });

    const city = await srv.login(CITY.username, CITY.password);
    const { items } = (await srv.call('GET', `/api/v1/persons/${person.id}/arrivals`, { as: city })).body as { items: { kind: string; origin: string; arrivedAt: string }[] };
    expect(items).toMatchObject([{ kind: 'inbound', origin: '新加坡', arrivedAt: '2022-04-10T02:30:00.000Z' }]);
    const [order] = await ctx.db.query<{ level: string; central_until: Date; home_until: Date }>('SELECT level, central_until, home_until FROM quarantine_orders WHERE person_id = $1', [person.id]);
    expect(order).toEqual({ level: 'inbound', central_until: new Date('2022-04-24T02:30:00Z'), home_until: new Date('2022-05-01T02:30:00Z') });
    const status = await srv.call('GET', `/api/v1/persons/${person.id}/status`, { as: city });
    expect(status.body).toMatchObject({ colour: 'red', reasons: [{ code: 'inbound', fact: { kind: 'arrival' } }] });
  });

  it('records an arrival from a low-risk area without an order, and the person reads the tests asked of them', async () => {
    // Still signed in as the street worker.
    await page.goto(`${srv.url}/registry.html?entity=persons&q=${encodeURIComponent(neighbour.name)}`);
    await page.click(`#table tbody tr[data-id="${neighbour.id}"]`);
    await page.waitForSelector('#arrivals');
    await page.selectOption('#arrival-kind', 'lowRisk');
    await page.fill('#arrival-origin', '杭州');
    await page.fill('#arrival-at', '2022-04-10T09:00');
    await page.click('#arrival-submit');
    const done = page.locator('#arrival-note[data-kind="done"]');
    await done.waitFor({ state: 'visible' });
    expect(await done.textContent()).toMatch(/^已登记：不需隔离，.*三天两检/);
    expect(await page.locator('#arrival-list li').allTextContents()).toEqual([expect.stringMatching(/ · 来自低风险区 · 来自 杭州$/)]);
    expect(await ctx.db.query('SELECT 1 FROM quarantine_orders WHERE person_id = $1', [neighbour.id])).toEqual([]);

    // The person, on their phone: still green, asked for tests on 2 days by 09:00 three days on.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    try {
      await signIn(phone, srv.url, '/resident.html', RESIDENT);
      const prompt = phone.locator('#status-prompts li[data-code="arrivalTests"]');
      await prompt.waitFor({ state: 'visible' });
      expect(await phone.locator('#status-badge').getAttribute('data-colour')).toBe('green');
      expect(await prompt.getAttribute('data-due')).toBe('2022-04-13T01:00:00.000Z');
      expect(await prompt.textContent()).toMatch(/^您来自低风险区：请于 .*13.*09:00.* 前在 2 天各做一次核酸检测（三天两检）已检测 0 天，共需 2 天$/);
      await phone.screenshot({ path: '/tmp/cordon-arrival-low-risk.png', fullPage: true });
    } finally {
      await phone.close();
    }
  });
});
