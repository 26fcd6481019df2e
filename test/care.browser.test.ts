// Cases and care in a real browser against the real server, on a hand-built town (as in src/cases/care.test.ts):
// two shelters and a hospital with one ICU bed; cases opened through the API, one of them critical with no ICU
// bed left, so it waits in the queue. City command signs in through the login page, opens /care.html and sees
// the queue row with its wait and its reason (in the reader's language, though the server words it in
// English), the bed numbers the API gives, the charts drawn; opens a case and reads its triage reasons;
// records an observation that refers a shelter patient to hospital and sees the new bed with the old one still
// held; is refused a discharge and reads what is missing; sees a server problem in words; the same in
// English. A shelter’s manager then sees only the shelter’s patients. Screenshots go to /tmp/cordon-care-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testContext, testServer, type Session, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import type { Queryable } from '../src/core/db.ts';

if (!haveBrowser) console.warn(`care.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const PW = 'care-browser-pw';
const CITY = { username: 'city', password: PW };
const SHELTER = { username: 'shelter1', password: PW };
const DESK = { viewport: { width: 1600, height: 1000 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };
// 10:00 in Shanghai; the clock stands still, so waits are exact.
const NOW = new Date('2022-04-11T02:00:00Z');
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();

/** Districts 1 and 2 side by side; persons 1-20 live in district 1. Shelter 1 (district 1) has 3 beds, shelter 2 (district 2) 10, the hospital (district 1) 2 general and 1 ICU. */
async function buildTown(q: Queryable): Promise<void> {
  for (const [d, lon] of [[1, 121.4], [2, 121.45]] as const) {
    await q.query('INSERT INTO districts (id, code, name) VALUES ($1, $2, $3)', [d, `D${d}`, `区${d}`]);
    await q.query('INSERT INTO streets (id, code, district_id, name) VALUES ($1, $2, $1, $3)', [d, `S${d}`, `街道${d}`]);
    await q.query('INSERT INTO compounds (id, code, street_id, district_id, name, centroid_lon, centroid_lat) VALUES ($1, $2, $1, $1, $3, $4, 31.2)', [d, `C${d}`, `小区${d}`, lon]);
  }
  for (let p = 1; p <= 20; p++) {
    await q.query(`INSERT INTO persons (id, personal_code, name, sex, birth_date, compound_id, street_id, district_id) VALUES ($1, $2, $3, 'F', '1985-01-01', 1, 1, 1)`, [p, `PC${String(p).padStart(4, '0')}`, `患者${p}`]);
  }
  // The one waiting for ICU has high-risk conditions, which do not change a critical case's place.
  await q.query(`UPDATE persons SET comorbidities = '{hypertension,diabetes}' WHERE id = 6`);
  await q.query(`INSERT INTO facilities (id, code, name, kind, district_id, lon, lat, beds_general, beds_icu) VALUES
    (1, 'F1', '方舱一', 'shelterHospital', 1, 121.4, 31.2, 3, 0), (2, 'F2', '方舱二', 'shelterHospital', 2, 121.45, 31.2, 10, 0),
    (3, 'H1', '定点医院一', 'designatedHospital', 1, 121.41, 31.2, 2, 1)`);
  for (const t of ['districts', 'streets', 'compounds', 'persons', 'facilities']) await q.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT max(id) FROM ${t}))`);
}

describe.skipIf(!haveBrowser)('the care page in Chromium', () => {
  let browser: Browser;
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session;
  let context: BrowserContext;
  let page: Page;
  // The cases: a shelter patient to refer, a shelter patient not ready to go home, the ICU patient, the one waiting for ICU, one sent to the next district.
  const ids = { referred: 0, notReady: 0, third: 0, icu: 0, queued: 0, spilled: 0 };

  const open = async (personId: number, body: Record<string, unknown> = {}) => {
    const r = await srv.call('POST', '/api/v1/care/cases', { as: city, body: { personId, classification: 'confirmed', sampledAt: ago(600), ...body } });
    expect(r.status, r.text).toBe(201);
    return r.body.case as { id: number; state: string; bed: { facilityId: number } | null; queueReason: string | null };
  };

  beforeAll(async () => {
    buildWeb();
    browser = await launchBrowser();
    ctx = await testContext({ now: NOW });
    await ctx.db.tx((q) => buildTown(q));
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...CITY, role: 'city_command' }, new Date());
      await createUser(q, { ...SHELTER, role: 'facility_manager', facilityId: 1 }, new Date());
    });
    srv = await testServer(ctx);
    city = await srv.login(CITY.username, CITY.password);
    const referred = await open(1);
    const notReady = await open(2);
    const third = await open(3);
    expect([referred.bed?.facilityId, notReady.bed?.facilityId, third.bed?.facilityId]).toEqual([1, 1, 1]);
    const spilled = await open(4);
    expect(spilled.bed?.facilityId).toBe(2); // shelter 1 is full: the next district
    for (const c of [referred, notReady]) expect((await srv.call('POST', `/api/v1/care/cases/${c.id}/admit`, { as: city })).status).toBe(200);
    const icu = await open(5, { observation: { mechanicalVentilation: true } });
    expect(icu.bed?.facilityId).toBe(3);
    // Critical, reported 2 h 35 min ago, and the only ICU bed is taken: the queue.
    const queued = await open(6, { reportedAt: ago(155), observation: { shock: true } });
    expect(queued).toMatchObject({ state: 'waiting', bed: null, queueReason: expect.stringMatching(/No free ICU bed/) });
    Object.assign(ids, { referred: referred.id, notReady: notReady.id, third: third.id, icu: icu.id, queued: queued.id, spilled: spilled.id });
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

  it('shows city command the transfer queue: the wait in hours:minutes, the destination and the reason', async () => {
    await signIn(page, srv.url, '/care.html', CITY);
    expect(await page.locator('#nav-care').getAttribute('aria-current')).toBe('page');
    await page.waitForSelector('#queue-body[data-count="1"]');
    const row = page.locator(`#queue-body tr[data-case="${ids.queued}"]`);
    expect(await row.getAttribute('data-minutes')).toBe('155');
    expect(await row.locator('td.waited').textContent()).toBe('2:35');
    expect(await row.textContent()).toContain('定点医院 ICU');
    expect(await row.textContent()).toContain('危重型');
    // In the reader's language; the server's own sentence stays in the title.
    expect(await row.locator('td.reason').textContent()).toBe('全市定点医院 ICU均无空床');
    expect(await row.locator('td.reason').getAttribute('title')).toBe('No free ICU bed at any designated hospital in the city');
    expect(await page.locator('#queue-count').textContent()).toBe('1');
  });

  it('shows the bed numbers the API gives, per kind and per facility, and draws the charts', async () => {
    const cap = await srv.call('GET', '/api/v1/care/capacity', { as: city });
    expect(cap.status).toBe(200);
    await page.waitForSelector('#kinds .kind-card');
    for (const k of cap.body.kinds as { kind: string; total: number; occupied: number; available: number; waiting: number; admissionsPerDay: number; daysLeft: number | null }[]) {
      const card = page.locator(`#kind-${k.kind}`);
      const data = await card.evaluate((el) => ({ ...(el as HTMLElement).dataset }));
      expect(data, k.kind).toMatchObject({ total: String(k.total), occupied: String(k.occupied), available: String(k.available), waiting: String(k.waiting), admissions: String(k.admissionsPerDay), daysLeft: k.daysLeft === null ? '' : String(k.daysLeft) });
      expect(await card.locator('.kind-occupied').textContent()).toBe(String(k.occupied));
      expect(await card.locator('.kv[data-key="available"] strong').textContent()).toBe(String(k.available));
    }
    // Shelters: 4 of 13 beds; hospital general: none; ICU: 1 of 1, one waiting.
    expect(await page.getAttribute('#kind-shelterHospital', 'data-occupied')).toBe('4');
    expect(await page.getAttribute('#kind-shelterHospital', 'data-total')).toBe('13');
    expect(await page.getAttribute('#kind-icu', 'data-available')).toBe('0');
    expect(await page.getAttribute('#kind-icu', 'data-waiting')).toBe('1');
    // SANER counts per facility.
    await page.waitForSelector('#beds-body[data-count="3"]');
    expect(await page.getAttribute('#beds-body tr[data-facility="1"]', 'data-general')).toBe('3/3');
    expect(await page.getAttribute('#beds-body tr[data-facility="3"]', 'data-icu')).toBe('1/1');

    // Both charts are drawn: pixels on their canvases.
    await page.waitForSelector('#occupancy-chart[data-ready="true"]');
    await page.waitForSelector('#district-chart[data-ready="true"]');
    expect(await page.getAttribute('#occupancy-chart', 'data-days')).toBe('14');
    expect(await page.getAttribute('#district-chart', 'data-districts')).toBe('2');
    for (const id of ['occupancy-chart', 'district-chart']) {
      const lit = (await page.evaluate(`(() => {
        const c = document.querySelector('#${id} canvas');
        if (!c || !c.width || !c.height) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n / (d.length / 4);
      })()`)) as number;
      expect(lit, id).toBeGreaterThan(0.01);
    }
    await page.screenshot({ path: '/tmp/cordon-care-overview-zh.png', fullPage: true });
  });

  it('opens a case from the queue with its triage reasons and why it waits', async () => {
    await page.click(`#queue-body tr[data-case="${ids.queued}"]`);
    await page.waitForSelector(`#case-panel[data-case="${ids.queued}"]`);
    expect(new URL(page.url()).search).toBe(`?case=${ids.queued}`);
    expect(await page.getAttribute('#triage-destination', 'data-destination')).toBe('icu');
    // The rules' reasons in the reader's language, the server's own words in the title.
    const reasons = page.locator('#triage-reasons li');
    expect(await reasons.allTextContents()).toEqual([expect.stringMatching(/^危重型 → 定点医院 ICU（shanghai-2022-05@.+ triage\.critical）$/), '已记录高风险因素：高血压、糖尿病']);
    expect(await reasons.first().getAttribute('title')).toMatch(/^critical -> icu \(shanghai-2022-05@.+ triage\.critical\)$/);
    expect(await reasons.nth(1).getAttribute('title')).toBe('risk factors noted: hypertension, diabetes');
    expect(await page.locator('#risk-factors li').allTextContents()).toEqual(['高血压 ', '糖尿病 ']);
    expect(await page.locator('#bed-queue').textContent()).toContain('已等待 2:35');
    expect(await page.locator('#bed-queue').textContent()).toContain('全市定点医院 ICU均无空床');
    expect(await page.locator('#case-events li[data-kind="queued"]').textContent()).toContain('全市定点医院 ICU均无空床');
    const events = await page.locator('#case-events li').evaluateAll((li) => li.map((x) => x.getAttribute('data-kind')));
    expect(events).toEqual(['queued', 'triaged', 'observation', 'reported']);
    // Waiting: nothing to admit or discharge; command may look for a bed again.
    expect(await page.isVisible('#admit')).toBe(false);
    expect(await page.isVisible('#discharge')).toBe(false);
    expect(await page.isVisible('#assign')).toBe(true);
    await page.click('#assign');
    await page.waitForSelector('#case-result[data-kind="ok"]');
    expect(await page.locator('#case-result').textContent()).toBe('仍无可用床位，继续等待。');
  });

  it('records an observation that refers a shelter patient to hospital, the old bed held until arrival', async () => {
    await page.click(`#case-list tr[data-case="${ids.referred}"]`);
    await page.waitForSelector(`#case-panel[data-case="${ids.referred}"][data-state="admitted"]`);
    expect(await page.getAttribute('#bed-now', 'data-facility')).toBe('1');
    expect(await page.getAttribute('#triage-destination', 'data-destination')).toBe('shelterHospital');
    expect(await page.locator('#bed-old').count()).toBe(0);

    // A server problem in words: SpO2 over 100.
    await page.fill('#obs-spo2', '140');
    await page.click('#obs-save');
    await page.waitForSelector('#case-result[data-kind="error"][data-status="400"]');
    expect(await page.locator('#case-result').textContent()).toBe('400 · 血氧饱和度 SpO2（%）“140”大于 100');

    await page.fill('#obs-spo2', '91');
    await page.fill('#obs-temp', '38.5');
    await page.click('#obs-save');
    await page.waitForSelector('#case-result[data-kind="ok"]');
    expect(await page.locator('#case-result').textContent()).toBe('已记录：重型，去向 定点医院。 已转诊至 定点医院一，原床位保留至到达。');
    await page.waitForSelector(`#case-panel[data-state="assigned"][data-destination="designatedHospital"]`);
    expect(await page.getAttribute('#bed-now', 'data-facility')).toBe('3');
    expect(await page.getAttribute('#bed-old', 'data-facility')).toBe('1');
    expect(await page.locator('#bed-old').textContent()).toBe('原床位 方舱一（普通床）保留至到达新床位');
    expect(await page.getAttribute('#triage-destination', 'data-destination')).toBe('designatedHospital');
    expect((await page.locator('#triage-reasons li').first().textContent())).toMatch(/^重型 → 定点医院（/);
    const events = await page.locator('#case-events li').evaluateAll((li) => li.map((x) => x.getAttribute('data-kind')));
    expect(events.slice(0, 4)).toEqual(['referred', 'bedTaken', 'triaged', 'observation']);
    expect(await page.locator('#case-events li[data-kind="referred"]').textContent()).toContain('方舱一 → 定点医院一');
    expect(await page.locator('#case-events li[data-kind="observation"]').first().textContent()).toContain('静息指氧饱和度 91% ≤ 93%');
    // The lists and the numbers follow: the hospital's general beds, the row in the case list.
    await page.waitForSelector('#kind-designatedHospital[data-occupied="1"]');
    expect(await page.getAttribute(`#case-list tr[data-case="${ids.referred}"]`, 'data-state')).toBe('assigned');
    expect(await page.getAttribute(`#case-list tr[data-case="${ids.referred}"]`, 'data-leaving')).toBe('1');
    const [row] = await ctx.db.query<{ state: string; facility_id: number; leaving_facility_id: number }>('SELECT state, facility_id, leaving_facility_id FROM cases WHERE id = $1', [ids.referred]);
    expect(row).toEqual({ state: 'assigned', facility_id: 3, leaving_facility_id: 1 });
    await page.screenshot({ path: '/tmp/cordon-care-referred-zh.png', fullPage: true });
  });

  it('refuses a discharge and shows what is missing', async () => {
    await page.selectOption('#state-filter', 'admitted');
    await page.waitForSelector('#case-list[data-state="admitted"]');
    expect(await page.locator('#case-list tr[data-case]').evaluateAll((tr) => tr.map((x) => x.getAttribute('data-state')))).toEqual(expect.arrayContaining(['admitted']));
    await page.click(`#case-list tr[data-case="${ids.notReady}"]`);
    await page.waitForSelector(`#case-panel[data-case="${ids.notReady}"]`);
    // Readiness says it before anyone tries.
    expect(await page.getAttribute('#readiness', 'data-ready')).toBe('false');
    expect(await page.locator('#readiness li').first().textContent()).toContain('Ct 值均 ≥ 35');
    expect(await page.locator('#readiness li').first().getAttribute('title')).toContain('Ct >= 35');
    await page.click('#discharge');
    await page.waitForSelector('#case-result[data-kind="error"][data-status="409"]');
    expect(await page.locator('#case-result strong').textContent()).toBe('未达到出院标准，尚缺：');
    const missing = await page.locator('#refused-missing li').allTextContents();
    expect(missing).toEqual([expect.stringMatching(/^还需 2 次 ORF1ab 和 N 基因 Ct 值均 ≥ 35 的结果，间隔 ≥ 24 小时（shanghai-2022-05@.+ 出院标准）$/)]);
    expect(await page.locator('#refused-missing li').first().getAttribute('title')).toMatch(/^2 more result\(s\) with ORF1ab and N Ct >= 35, >= 24 h apart/);
    const [row] = await ctx.db.query<{ state: string }>('SELECT state FROM cases WHERE id = $1', [ids.notReady]);
    expect(row.state).toBe('admitted');
    // Nobody is ready today.
    expect(await page.getAttribute('#discharge-list', 'data-count')).toBe('0');
    await page.check('#discharges-all');
    await page.waitForSelector('#discharge-list[data-count="1"]');
    expect(await page.getAttribute('#discharge-list tr[data-case]', 'data-ready')).toBe('false');
    await page.screenshot({ path: '/tmp/cordon-care-refused-zh.png', fullPage: true });
  });

  it('speaks English too', async () => {
    await page.click('#lang-switch');
    await page.waitForSelector(`#case-panel[data-case="${ids.notReady}"]`);
    await page.waitForSelector('#queue-body[data-count="1"]');
    expect(await page.locator('h1').textContent()).toBe('Cases, beds and transfers');
    expect(await page.locator('#kind-icu h2').textContent()).toBe('ICU beds');
    expect(await page.locator(`#queue-body tr[data-case="${ids.queued}"]`).textContent()).toContain('Hospital ICU');
    expect(await page.locator(`#queue-body tr[data-case="${ids.queued}"] td.reason`).textContent()).toBe('No free bed in any Hospital ICU in the city');
    expect(await page.locator('#case-title').textContent()).toBe(`Case ${ids.notReady} · 患者2`);
    await page.click('#discharge');
    await page.waitForSelector('#case-result[data-status="409"]');
    expect(await page.locator('#case-result strong').textContent()).toBe('Not ready for discharge. Still missing:');
    expect(await page.locator('#refused-missing li').allTextContents()).toEqual([expect.stringMatching(/^2 more result\(s\) with ORF1ab and N Ct ≥ 35, ≥ 24 h apart \(shanghai-2022-05@.+ discharge\)$/)]);
    expect(await page.locator('#triage-reasons li').first().textContent()).toMatch(/^Mild → Shelter hospital \(shanghai-2022-05@.+ triage\.mild\)$/);
    await page.screenshot({ path: '/tmp/cordon-care-en.png', fullPage: true });
    await page.click('#lang-switch');
    await page.waitForSelector('#queue-body[data-count="1"]');
  });

  it('shows a shelter’s manager only the shelter’s patients', async () => {
    const desk = await browser.newContext(DESK);
    try {
      const fm = await desk.newPage();
      fm.on('pageerror', (e) => console.error('page error:', e.message));
      await signIn(fm, srv.url, '/care.html', SHELTER);
      expect(await fm.locator('#nav-care').count()).toBe(1);
      expect(await fm.locator('#nav-quarantine').count()).toBe(0);
      await fm.waitForSelector('#case-list[data-count]');
      const shown = (await fm.locator('#case-list tr[data-case]').evaluateAll((tr) => tr.map((x) => Number(x.getAttribute('data-case'))))).sort((a, b) => a - b);
      const mine = (await ctx.db.query<{ id: number }>('SELECT id::int AS id FROM cases WHERE facility_id = 1 OR leaving_facility_id = 1 ORDER BY id')).map((r) => r.id);
      expect(shown).toEqual(mine);
      // Persons 1-3: the one referred away still holds its bed here until arrival.
      expect(shown).toEqual([ids.referred, ids.notReady, ids.third].sort((a, b) => a - b));
      for (const other of [ids.icu, ids.queued, ids.spilled]) expect(shown).not.toContain(other);
      await fm.waitForSelector('#queue-body[data-count="0"]');
      await fm.waitForSelector('#beds-body[data-count="1"]');
      expect(await fm.getAttribute('#beds-body tr[data-facility]', 'data-facility')).toBe('1');
      expect(await fm.locator('#scope-line').textContent()).toBe('方舱一 的患者');
      // Another facility's case by its link: the server's 404 in words, no panel.
      await fm.goto(`${srv.url}/care.html?case=${ids.queued}`);
      await fm.waitForSelector('#message[data-status="404"]');
      expect(await fm.locator('#message').textContent()).toContain(`没有病例 ${ids.queued}，或不在您的管辖范围内`);
      expect(await fm.locator('#message .error-text').getAttribute('title')).toContain(`Case ${ids.queued} does not exist`);
      expect(await fm.isVisible('#case-panel')).toBe(false);
      await fm.screenshot({ path: '/tmp/cordon-care-facility-zh.png', fullPage: true });
    } finally {
      await desk.close();
    }
  });
});
