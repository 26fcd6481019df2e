// The zones page in a real browser against the real server, on the hand-built 3 x 3 grid of zoning's tests
// (src/zoning/grid.test-helpers.ts): six days of screenings and three cases, the zones computed by the job.
// City command signs in through the login page, opens /zones.html and sees the last day's compounds coloured
// by zone (counted on the canvas itself), the epidemic-free areas outlined, the tiles and the counts per
// district as the API gives them; moves the date slider by keyboard and by the buttons and sees the map and
// the counts of that day; clicks a compound for its reason and next move, places it under control with a
// reason, and withdraws that with another. A district's command sees its own district only. Screenshots go to /tmp/cordon-zones-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testContext, testServer, type Session, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { openCases } from '../src/cases/store.ts';
import { zoningUpkeep } from '../src/zoning/index.ts';
import { D, at, buildGrid, GRID, person, screen } from '../src/zoning/grid.test-helpers.ts';

if (!haveBrowser) console.warn(`zones.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const PW = 'zones-browser-pw';
const CITY = { username: 'city', password: PW };
const DISTRICT2 = { username: 'district2', password: PW };
const DESK = { viewport: { width: 1600, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };
// Noon of day 5 in Shanghai; the clock stands still.
const NOW = at(5, 12);
const SEALED = [240, 82, 82];

/** Pixels of the map's canvas within a few steps of `rgb` (the zone colours are drawn flat). */
function pixelsOf(page: Page, rgb: number[]): Promise<number> {
  return page.evaluate((c) => {
    const canvas = document.querySelector<HTMLCanvasElement>('#zone-map canvas');
    if (!canvas) return -1;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - c[0]) <= 6 && Math.abs(d[i + 1] - c[1]) <= 6 && Math.abs(d[i + 2] - c[2]) <= 6) n++;
    return n;
  }, rgb);
}

describe.skipIf(!haveBrowser)('the zones page in Chromium', () => {
  let browser: Browser;
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session;
  let context: BrowserContext;
  let page: Page;
  /** Red pixels on the canvas on the last day. */
  const red = { last: 0 };

  const compact = async (day: string, as = city) => (await srv.call('GET', `/api/v1/zones?view=compact&day=${day}`, { as })).body as { ids: number[]; zones: string; freeAreas: number[] };
  const letters = (z: { zones: string }, l: string) => [...z.zones].filter((x) => x === l).length;

  /** The map shows `day` as the API has it: each zone's compounds, the free ones and their areas. */
  async function expectMapOf(day: string): Promise<void> {
    await page.waitForSelector(`#zone-map[data-ready="true"][data-day="${day}"]`);
    const z = await compact(day);
    const data = await page.locator('#zone-map').evaluate((el) => ({ ...(el as HTMLElement).dataset }));
    expect(data).toMatchObject({
      day,
      compounds: '9',
      sealed: String(letters(z, 's')),
      controlled: String(letters(z, 'c')),
      precaution: String(letters(z, 'p')),
      free: String(z.freeAreas.filter((a) => a > 0).length),
      areas: String(new Set(z.freeAreas.filter((a) => a > 0)).size),
    });
    expect(await page.locator('#day-label').textContent()).toBe(day);
  }

  /** The tiles and the table of counts per district hold what GET /api/v1/zones/counts says for `day`. */
  async function expectCountsOf(day: string): Promise<void> {
    await page.waitForSelector(`#counts-body[data-day="${day}"]`);
    const api = (await srv.call('GET', `/api/v1/zones/counts?day=${day}`, { as: city })).body.days[0];
    for (const d of api.districts) {
      const row = page.locator(`#counts-body tr[data-district="${d.districtId}"]`);
      for (const zone of ['sealed', 'controlled', 'precaution']) {
        expect([day, d.districtId, zone, await row.locator(`td[data-key="${zone}.compounds"]`).getAttribute('data-value'), await row.locator(`td[data-key="${zone}.people"]`).getAttribute('data-value')]).toEqual([
          day,
          d.districtId,
          zone,
          String(d[zone].compounds),
          String(d[zone].people),
        ]);
      }
      expect(await row.locator('td[data-key="free"]').getAttribute('data-value')).toBe(String(d.freeCompounds));
    }
    for (const zone of ['sealed', 'controlled', 'precaution']) {
      expect(await page.locator(`#tiles .stat[data-key="${zone}"]`).getAttribute('data-value')).toBe(String(api.total[zone].compounds));
      expect(await page.locator(`#tiles .stat[data-key="${zone}"]`).getAttribute('data-people')).toBe(String(api.total[zone].people));
      expect(await page.locator(`#counts-body tr[data-district="total"] td[data-key="${zone}.compounds"]`).getAttribute('data-value')).toBe(String(api.total[zone].compounds));
    }
  }

  beforeAll(async () => {
    buildWeb();
    browser = await launchBrowser();
    ctx = await testContext({ now: NOW });
    await ctx.db.tx((q) => buildGrid(q));
    // Every compound screened all negative on days 0 to 5 (those without a case are epidemic-free from the
    // day after); cases in compound 5 on day 1, compound 1 on day 2 and compound 9 on day 4.
    await ctx.db.tx(async (q) => {
      for (let d = 0; d <= 5; d++) await screen(q, d, GRID.map((c) => c.id));
    });
    for (const [compound, day] of [[5, 1], [1, 2], [9, 4]]) {
      const reportedAt = at(day, 10);
      await ctx.db.tx((q) => openCases(q, [{ personId: person(compound, 1), classification: 'confirmed', source: 'finding', sampledAt: at(day, 8), reportedAt }], ctx.preset, 'test', reportedAt));
    }
    expect(await zoningUpkeep(ctx.db, ctx.preset, NOW)).toMatchObject({ firstDay: D(0), lastDay: D(5) });
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...CITY, role: 'city_command' }, new Date());
      await createUser(q, { ...DISTRICT2, role: 'district_command', districtId: 2 }, new Date());
    });
    srv = await testServer(ctx);
    city = await srv.login(CITY.username, CITY.password);
    context = await browser.newContext(DESK);
    page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await srv?.close();
    await ctx?.close();
  });

  it('draws the last day’s compounds coloured by zone, the free areas outlined, and the counts the API gives', async () => {
    await signIn(page, srv.url, '/zones.html', CITY);
    expect(await page.locator('#nav-zones').getAttribute('aria-current')).toBe('page');
    await expectMapOf(D(5));
    // Compounds 5, 1 and 9 sealed; the others free, in two areas (2-3-6 and 4-7-8) around them.
    expect(await page.getAttribute('#zone-map', 'data-sealed')).toBe('3');
    expect(await page.getAttribute('#zone-map', 'data-areas')).toBe('2');
    expect(Number(await page.getAttribute('#zone-map', 'data-outlined'))).toBeGreaterThan(0);
    await page.mouse.move(1, 1);
    red.last = await pixelsOf(page, SEALED);
    await expectCountsOf(D(5));
    expect(await page.locator('#tiles .stat[data-key="areas"]').getAttribute('data-value')).toBe('2');
    expect(await page.locator('#day-slider').evaluate((el: HTMLInputElement) => [el.min, el.max, el.value])).toEqual(['0', '5', '5']);
    await page.screenshot({ path: '/tmp/cordon-zones-last-day.png', fullPage: true });
  });

  it('moves through the days with the slider and the buttons: the map and the counts follow', async () => {
    // Day 0 by keyboard (Home): no case yet, nothing sealed, no red on the canvas.
    await page.focus('#day-slider');
    await page.keyboard.press('Home');
    await expectMapOf(D(0));
    expect(await page.getAttribute('#zone-map', 'data-sealed')).toBe('0');
    await page.mouse.move(1, 1);
    // Only the legend's swatch is red: three sealed compounds on the last day drew far more.
    const legend = await pixelsOf(page, SEALED);
    expect(legend).toBeGreaterThan(0);
    expect(red.last).toBeGreaterThan(legend + 2000);
    await expectCountsOf(D(0));
    expect(page.url()).toContain(`day=${D(0)}`);
    // Two days on by arrows: compounds 5 and 1 sealed.
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await expectMapOf(D(2));
    expect(await page.getAttribute('#zone-map', 'data-sealed')).toBe('2');
    expect(await pixelsOf(page, SEALED)).toBeGreaterThan(legend + 1000);
    await expectCountsOf(D(2));
    // The button for the day after.
    await page.click('#day-next');
    await expectMapOf(D(3));
    await expectCountsOf(D(3));
    await page.screenshot({ path: '/tmp/cordon-zones-day3.png', fullPage: true });
  });

  it('tells a compound’s zone that day with the rule, the last case and the next move', async () => {
    // The grid is centred in the map: its middle is compound 5.
    const box = (await page.locator('#zone-map').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector(`#compound-card[data-compound="5"][data-day="${D(3)}"]`);
    const api = (await srv.call('GET', `/api/v1/zones/compounds/5?from=${D(3)}&to=${D(3)}`, { as: city })).body.days[0];
    expect(await page.getAttribute('#compound-card', 'data-zone')).toBe(api.zone);
    const text = await page.locator('#compound-facts').textContent();
    expect(text).toContain('封控区');
    // The rule in the reader's language, the server's words in the title.
    expect(api.reason.why).toEqual({ code: 'positive' });
    expect(await page.getAttribute('#zone-reason', 'data-why')).toBe('positive');
    expect(await page.locator('#zone-reason').textContent()).toBe('小区内出现阳性 → 封控区（rules.md 1–3、11）');
    expect(await page.getAttribute('#zone-reason', 'title')).toBe(api.reason.rule);
    expect(text).toContain(api.moves.on);
    expect(await page.locator('#compound-title').textContent()).toBe('小区5 · C5');
  });

  it('places the compound shown under control from that day with a reason, and lists it on the card', async () => {
    await page.fill('#designate-reason', '密接集中居住');
    await page.click('#designate-submit');
    await page.waitForSelector('#designate-note[data-kind="done"]');
    expect(await page.locator('#designate-note').textContent()).toBe(`已划定自 ${D(3)} 起管控；一分钟内计入分区`);
    const list = (await srv.call('GET', '/api/v1/zones/designations?compoundId=5', { as: city })).body.items;
    expect(list).toMatchObject([{ compoundId: 5, day: D(3), reason: '密接集中居住' }]);
    expect(await page.locator('#compound-facts').textContent()).toContain(`自 ${D(3)} 起：密接集中居住`);
    await page.locator('#compound-card').screenshot({ path: '/tmp/cordon-zones-designated.png' });
    // A blank reason: the server's refusal, in the reader's language with its status.
    await page.fill('#designate-reason', '   ');
    await page.click('#designate-submit');
    await page.waitForSelector('#designate-note[data-kind="error"]');
    expect(await page.locator('#designate-note').textContent()).toMatch(/^400 · /);
    expect((await srv.call('GET', '/api/v1/zones/designations?compoundId=5', { as: city })).body.items).toHaveLength(1);
  });

  it('withdraws the designation with a reason: still listed, marked withdrawn, no longer offered', async () => {
    const [d] = (await srv.call('GET', '/api/v1/zones/designations?compoundId=5', { as: city })).body.items as { id: number }[];
    await page.click(`button[data-withdraw="${d.id}"]`);
    const form = page.locator(`form[data-withdraw="${d.id}"]`);
    await form.locator('input').fill('划错了小区');
    await form.locator('button[type="submit"]').click();
    await page.waitForSelector(`.designation[data-id="${d.id}"][data-withdrawn="true"]`);
    expect(await page.locator('#designate-note').textContent()).toBe(`已撤销自 ${D(3)} 起的管控划定；一分钟内计入分区`);
    expect(await page.locator(`.designation[data-id="${d.id}"]`).textContent()).toBe(`自 ${D(3)} 起：密接集中居住 · 已撤销：划错了小区`);
    expect(await page.locator(`button[data-withdraw="${d.id}"]`).count()).toBe(0);
    const [after] = (await srv.call('GET', '/api/v1/zones/designations?compoundId=5', { as: city })).body.items;
    expect(after).toMatchObject({ id: d.id, withdrawal: { reason: '划错了小区' } });
    await page.locator('#compound-card').screenshot({ path: '/tmp/cordon-zones-withdrawn.png' });
  });

  it('shows a district’s command its own district only, and speaks English', async () => {
    const other = await browser.newContext({ ...DESK, locale: 'en-US' });
    const p = await other.newPage();
    p.on('pageerror', (e) => console.error('page error:', e.message));
    await p.addInitScript(() => localStorage.setItem('cordon.lang', 'en'));
    await signIn(p, srv.url, '/zones.html', DISTRICT2);
    await p.waitForSelector(`#zone-map[data-ready="true"][data-day="${D(5)}"]`);
    expect(await p.getAttribute('#zone-map', 'data-compounds')).toBe('3');
    expect(await p.getAttribute('#zone-map', 'data-sealed')).toBe('1');
    expect(await p.locator('#counts-body tr[data-district]').evaluateAll((tr) => tr.map((x) => x.getAttribute('data-district')))).toEqual(['2', 'total']);
    expect(await p.locator('h1').textContent()).toBe('Zones · epidemic-free compounds');
    await p.screenshot({ path: '/tmp/cordon-zones-district-en.png', fullPage: true });
    await other.close();
  });
});
