// Livelihood in a real browser against the real server, on the hand-built town of src/support/town.test-helpers.ts.
// Requests are filed through the API at set times (the clock stands still): a medical emergency 1 h 30 min ago
// (30 min overdue), a dialysis session 10 min ago, a food request, and one for the resident already served.
// City command signs in through the login page, opens /support.html and sees the emergency first and highlighted
// as overdue, the deadlines counting down, the figures the API gives, both charts drawn, the vaccination
// coverage; accepts a request; is refused a refill past the preset's limit in words, then files one; reads the
// page in English. The resident sees only their own requests and confirms the one served. Another street's
// worker sees none of it. Screenshots go to /tmp/cordon-support-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testContext, testServer, type Session, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, canvasInk, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { buildSupportTown, TOWN_NOW } from '../src/support/town.test-helpers.ts';

if (!haveBrowser) console.warn(`support.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const PW = 'support-browser-pw';
const CITY = { username: 'city', password: PW };
const RESIDENT = { username: 'resident1', password: PW };
const STREET2 = { username: 'street2', password: PW };
const DESK = { viewport: { width: 1600, height: 1100 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };
const ago = (minutes: number) => new Date(TOWN_NOW.getTime() - minutes * 60_000);

describe.skipIf(!haveBrowser)('the support page in Chromium', () => {
  let browser: Browser;
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session;
  let street1: Session;
  let context: BrowserContext;
  let page: Page;
  const ids = { emergency: 0, dialysis: 0, food: 0, served: 0 };

  const file = async (at: Date, personId: number, kind: string, extra: Record<string, unknown> = {}) => {
    ctx.clock.set(at, 0);
    const r = await srv.call('POST', '/api/v1/support/requests', { as: street1, body: { personId, kind, ...extra } });
    expect(r.status, r.text).toBe(201);
    return r.body.id as number;
  };
  const step = async (at: Date, id: number, path: string) => {
    ctx.clock.set(at, 0);
    expect((await srv.call('POST', `/api/v1/support/requests/${id}/${path}`, { as: street1, body: {} })).status).toBe(200);
  };

  beforeAll(async () => {
    buildWeb();
    browser = await launchBrowser();
    ctx = await testContext({ now: TOWN_NOW });
    await ctx.db.tx((q) => buildSupportTown(q));
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...CITY, role: 'city_command' }, new Date());
      await createUser(q, { username: 'street1', password: PW, role: 'street_worker', streetId: 1 }, new Date());
      await createUser(q, { ...STREET2, role: 'street_worker', streetId: 2 }, new Date());
      await createUser(q, { ...RESIDENT, role: 'resident', personId: 1 }, new Date());
    });
    srv = await testServer(ctx);
    city = await srv.login(CITY.username, CITY.password);
    street1 = await srv.login('street1', PW);
    ids.served = await file(ago(200), 1, 'other', { details: 'Wheelchair repair' });
    ids.food = await file(ago(120), 4, 'food');
    ids.emergency = await file(ago(90), 1, 'medicalEmergency', { details: 'Chest pain' });
    ids.dialysis = await file(ago(10), 3, 'dialysis');
    await step(ago(150), ids.served, 'accept');
    await step(ago(100), ids.served, 'done');
    await step(ago(5), ids.dialysis, 'accept');
    ctx.clock.set(TOWN_NOW, 0);
    for (const [p, dose, day] of [[1, 1, '2021-05-01'], [1, 2, '2021-06-01'], [3, 1, '2021-03-01'], [3, 2, '2021-04-01'], [3, 3, '2021-11-01']] as const) {
      expect((await srv.call('POST', `/api/v1/persons/${p}/vaccinations`, { as: city, body: { dose, product: 'CoronaVac', givenOn: day } })).status).toBe(201);
    }
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

  it('shows the queue emergencies first, the overdue highlighted and every deadline counting down', async () => {
    await signIn(page, srv.url, '/support.html', CITY);
    expect(await page.locator('#nav-support').getAttribute('aria-current')).toBe('page');
    await page.waitForSelector('#queue-body[data-count="3"]');
    const rows = page.locator('#queue-body tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.kind))).toEqual(['medicalEmergency', 'dialysis', 'food']);
    const emergency = page.locator(`#queue-body tr[data-request="${ids.emergency}"]`);
    expect(await emergency.getAttribute('class')).toContain('overdue');
    expect(await emergency.getAttribute('data-minutes')).toBe('-30');
    expect(await emergency.locator('td.deadline').textContent()).toBe('超时 0:30');
    expect(await emergency.textContent()).toContain('急危重症');
    const dialysis = page.locator(`#queue-body tr[data-request="${ids.dialysis}"]`);
    expect(await dialysis.getAttribute('class')).not.toContain('overdue');
    expect(await dialysis.locator('td.deadline').textContent()).toBe('剩 11:50');
    expect(await dialysis.getAttribute('data-status')).toBe('accepted');
    expect(await page.locator('#queue-count').textContent()).toBe('3 · 超时 1');
    await page.click('#overdue-only');
    await page.waitForSelector('#queue-body[data-count="1"]');
    await page.click('#overdue-only');
    await page.waitForSelector('#queue-body[data-count="3"]');
  });

  it('shows the figures the API gives, draws both charts, and the vaccination coverage', async () => {
    const dash = (await srv.call('GET', '/api/v1/support/dashboard', { as: city })).body;
    await page.waitForSelector('#tiles .stat');
    expect(await page.getAttribute('#tiles .stat[data-key="open"]', 'data-value')).toBe(String(dash.total.open));
    expect(await page.getAttribute('#tiles .stat[data-key="overdue"]', 'data-value')).toBe(String(dash.total.overdue));
    expect(dash.total).toEqual({ open: 3, overdue: 1 });
    // Answered: the served one after 50 min, the dialysis after 5 min.
    expect(await page.textContent('#tiles .stat[data-key="answerP50"] .stat-value')).toBe('0:05');
    await page.waitForSelector('#kind-chart[data-ready="true"]');
    await page.waitForSelector('#street-chart[data-ready="true"]');
    expect(await page.getAttribute('#kind-chart', 'data-kinds')).toBe('3');
    expect(await page.getAttribute('#street-chart', 'data-worst')).toBe('1');
    for (const id of ['#kind-chart', '#street-chart']) expect(await canvasInk(page, id), id).toBeGreaterThan(0.01);
    const cov = (await srv.call('GET', '/api/v1/vaccination/coverage', { as: city })).body;
    await page.waitForSelector('#coverage-body tr[data-area="1"]');
    const district1 = cov.areas.find((a: { id: number }) => a.id === 1);
    const cells = await page.locator('#coverage-body tr[data-area="1"] td').allTextContents();
    expect(cells[1]).toBe(String(district1.bands.elderly.persons));
    expect(await page.getAttribute('#coverage-body tr[data-area="1"] td.pct >> nth=1', 'data-value')).toBe(String(district1.bands.elderly.boostedPercent));
    expect(await page.textContent('#band-elderly')).toBe('60+ 岁');
    await page.screenshot({ path: '/tmp/cordon-support-overview-zh.png', fullPage: true });
  });

  it('accepts a request, refuses a refill past the limit in words, and files one on a resident’s behalf', async () => {
    await page.click(`#queue-body tr[data-request="${ids.food}"] button[data-action="accept"]`);
    await page.waitForSelector(`#queue-body tr[data-request="${ids.food}"][data-status="accepted"]`);
    expect(await page.getAttribute('#action-result', 'data-kind')).toBe('ok');

    await page.fill('#file-person', '9');
    await page.selectOption('#file-kind', 'medicineRefill');
    await page.fill('#file-days', String(ctx.preset.support.maxPrescriptionDays + 30));
    await page.click('#file-save');
    await page.waitForSelector('#file-result[data-kind="error"]');
    // In the reader's language, the server's words in the title.
    expect(await page.textContent('#file-result')).toBe(`400 · 一次配药最多 ${ctx.preset.support.maxPrescriptionDays} 天，申请了 ${ctx.preset.support.maxPrescriptionDays + 30} 天`);
    expect(await page.getAttribute('#file-result', 'title')).toContain(`at most ${ctx.preset.support.maxPrescriptionDays} days`);
    await page.fill('#file-days', '60');
    await page.fill('#file-details', '降压药 amlodipine');
    await page.click('#file-save');
    await page.waitForSelector('#file-result[data-kind="ok"]');
    const id = await page.getAttribute('#file-result', 'data-request');
    await page.waitForSelector(`#queue-body tr[data-request="${id}"]`);
    expect(await page.textContent(`#queue-body tr[data-request="${id}"]`)).toContain('60 天');
  });

  it('reads in English', async () => {
    await page.click('#lang-switch');
    await page.waitForSelector('#queue-body[data-count="4"]');
    expect(await page.textContent('h1')).toBe('Supplies and access to care');
    expect(await page.locator(`#queue-body tr[data-request="${ids.emergency}"] td.deadline`).textContent()).toBe('Overdue 0:30');
    await page.screenshot({ path: '/tmp/cordon-support-overview-en.png', fullPage: true });
    await page.click('#lang-switch');
  });

  it('lets the resident see only their own requests and confirm the one served', async () => {
    const mine = await browser.newContext(DESK);
    const p = await mine.newPage();
    await signIn(p, srv.url, '/support.html', RESIDENT);
    await p.waitForSelector('#queue-body[data-count="2"]');
    expect(await p.isHidden('#figures')).toBe(true);
    expect(await p.isHidden('#person-field')).toBe(true);
    await p.click(`#queue-body tr[data-request="${ids.served}"] button[data-action="confirm"]`);
    await p.waitForSelector('#action-result[data-kind="ok"]');
    await p.waitForSelector(`#queue-body tr[data-request="${ids.served}"] td.actions:has-text("已确认")`);
    expect((await srv.call('GET', `/api/v1/support/requests/${ids.served}`, { as: city })).body.feedback).toBe('confirmed');
    await p.screenshot({ path: '/tmp/cordon-support-resident.png', fullPage: true });
    await mine.close();

    const other = await browser.newContext(DESK);
    const q = await other.newPage();
    await signIn(q, srv.url, '/support.html', STREET2);
    await q.waitForSelector('#queue-body[data-count="1"]');
    await q.waitForSelector('#tiles .stat[data-key="open"]');
    expect(await q.getAttribute('#tiles .stat[data-key="open"]', 'data-value')).toBe('1');
    await other.close();
  });
});
