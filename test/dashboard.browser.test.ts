// The command dashboard and the daily bulletin in a real browser against the real server, on the DEMO city at
// small scale with its three-week demo outbreak recorded through the platform's own paths. City command signs
// in through the login page, opens /dashboard.html and sees what the API says: the curve drawn with the same
// total, Rt, the beds, the map of compounds, the open alerts (one resolved with a note) and the overdue tasks
// (two marked done in bulk); one district chosen, the curve is that district's. Then the bulletin: drafted on
// the page, an address held back with a reason, approved by a second city command user, published on the
// page; and read without signing in: the counts, the curve image, no held-back address and no person's name,
// in Chinese and in English. Screenshots go to /tmp/cordon-dashboard-*.png and /tmp/cordon-bulletin-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testContext, testServer, type Session, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, canvasInk, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { seedDemo } from '../src/sim/demo.ts';
import { seedOutbreak } from '../src/sim/outbreak.ts';
import type { Db } from '../src/core/db.ts';
import type { Preset } from '../src/core/presets.ts';

if (!haveBrowser) console.warn(`dashboard.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

// 10:00 in Shanghai; the clock stands still. The outbreak's 21 days end yesterday, 2022-04-20.
const NOW = new Date('2022-04-21T02:00:00Z');
const YESTERDAY = '2022-04-20';
const DESK = { viewport: { width: 1600, height: 1100 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' };
const SECOND = { username: 'city2', password: 'second-city-pw' };

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

describe.skipIf(!haveBrowser)('the command dashboard and the bulletin in Chromium', () => {
  let browser: Browser;
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session;
  let second: Session;
  let cityUser: { username: string; password: string };
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    buildWeb();
    browser = await launchBrowser();
    ctx = await testContext({ now: NOW });
    const users = await seedDemo(ctx, { persons: 3000, seed: 1 });
    const outbreak = await seedOutbreak(ctx, { days: 21 });
    expect(outbreak.cases).toBeGreaterThan(20);
    // The zones, as the zoning capability's job keeps them (run once here, as the server does each minute).
    // Zoning is built beside this page: looked up by name, and where it is missing or fails, the map falls back
    // to the district's cases (and the map test below expects just that).
    const zoning = (await import('../src/zoning/index.ts')) as unknown as { zoningUpkeep?: (db: Db, preset: Preset, now: Date) => Promise<unknown> };
    await zoning.zoningUpkeep?.(ctx.db, ctx.preset, NOW).catch((e: unknown) => console.warn(`dashboard.browser.test: no zones (${e instanceof Error ? e.message : String(e)})`));
    await ctx.db.tx((q) => createUser(q, { ...SECOND, role: 'city_command' }, new Date()));
    cityUser = users.find((u) => u.role === 'city_command')!;
    srv = await testServer(ctx);
    city = await srv.login(cityUser.username, cityUser.password);
    second = await srv.login(SECOND.username, SECOND.password);
    // Two tasks long past their deadline (the oldest, ahead of the outbreak's own overdue tasks), for the
    // overdue list and its bulk change.
    const [district] = await ctx.db.query<{ id: number }>('SELECT id FROM districts ORDER BY id LIMIT 1');
    for (const title of ['Door-to-door sampling, building 3', 'Locate contact of case 12']) {
      const r = await srv.call('POST', '/api/v1/tasks', { as: city, body: { kind: 'manual', title, districtId: district.id, dueAt: new Date(NOW.getTime() - 40 * 86_400_000).toISOString() } });
      expect(r.status, r.text).toBe(201);
    }
    context = await browser.newContext(DESK);
    page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
  }, 600_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await srv?.close();
    await ctx?.close();
  });

  const dashboard = async (query = '') => {
    const r = await srv.call('GET', `/api/v1/command/dashboard${query}`, { as: city });
    expect(r.status, r.text).toBe(200);
    return r.body;
  };

  it('draws the epidemic curve with the total the API gives, and Rt, tests, 四早 and the beds', async () => {
    await signIn(page, srv.url, '/dashboard.html', cityUser);
    expect(await page.locator('#nav-dashboard').getAttribute('aria-current')).toBe('page');
    await page.waitForSelector('#curve-chart[data-ready="true"]');
    const d = await dashboard('?days=30');
    const total = sum(d.curve.total);
    expect(total).toBeGreaterThan(20);
    expect(Number(await page.getAttribute('#curve-chart', 'data-total'))).toBe(total);
    expect(await page.getAttribute('#curve-chart', 'data-days')).toBe('30');
    expect(await canvasInk(page, '#curve-chart')).toBeGreaterThan(0.005);
    // Today's and the week's figures, and the latest Rt with its band.
    expect(await page.getAttribute('#tile-today', 'data-value')).toBe(String(d.curve.total.at(-1)));
    expect(await page.getAttribute('#tile-week', 'data-value')).toBe(String(sum(d.curve.total.slice(-8, -1))));
    expect(d.rt.area.length).toBeGreaterThan(0);
    expect(await page.getAttribute('#tile-rt', 'data-value')).toBe(d.rt.area.at(-1).mean.toFixed(2));
    await page.waitForSelector('#rt-chart[data-ready="true"]');
    expect(Number(await page.getAttribute('#rt-chart', 'data-windows'))).toBe(d.rt.area.length);
    expect(await canvasInk(page, '#rt-chart')).toBeGreaterThan(0.005);
    expect(Number(await page.getAttribute('#rt-districts', 'data-districts'))).toBe(d.rt.byDistrict.length);
    expect(Number(await page.getAttribute('#tests-chart', 'data-tubes'))).toBe(sum(d.tests.tubes));
    expect(Number(await page.getAttribute('#contacts-chart', 'data-close'))).toBe(sum(d.contacts.closeOfCases));
    // A gauge a kind of bed, with the counts and days left of the API.
    expect(await canvasInk(page, '#beds-chart')).toBeGreaterThan(0.005);
    for (const b of d.beds) {
      const li = page.locator(`#beds-list li[data-kind="${b.kind}"]`);
      expect(await li.getAttribute('data-occupied')).toBe(String(b.occupied));
      expect(await li.getAttribute('data-total')).toBe(String(b.total));
      expect(await li.getAttribute('data-days-left')).toBe(b.daysLeft === null ? '' : String(b.daysLeft));
    }
  });

  it('draws the map of compounds', async () => {
    await page.waitForSelector('#zone-map[data-ready="true"]', { timeout: 30_000 });
    const geo = await srv.call('GET', '/api/v1/map/compounds.geojson', { as: city });
    const shaped = (JSON.parse(geo.text).features as { geometry: unknown }[]).filter((f) => f.geometry).length;
    expect(shaped).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('#zone-map', 'data-compounds'))).toBe(shaped);
    expect(await canvasInk(page, '#zone-map')).toBeGreaterThan(0.2);
    // Coloured by zone where the zoning capability serves today's zones; else by the district's cases of the week.
    const zones = await srv.call('GET', '/api/v1/zones?view=compact', { as: city });
    if (zones.status === 200) {
      expect(await page.getAttribute('#zone-map', 'data-source')).toBe('zones');
      const letters = [...(zones.body.zones as string)];
      for (const [zone, letter] of [['sealed', 's'], ['controlled', 'c'], ['precaution', 'p']]) expect(await page.getAttribute('#zone-map', `data-${zone}`), zone).toBe(String(letters.filter((l) => l === letter).length));
      expect(letters).toContain('s');
    } else {
      expect([404, 409]).toContain(zones.status);
      expect(await page.getAttribute('#zone-map', 'data-source')).toBe('districtCases');
    }
    await page.screenshot({ path: '/tmp/cordon-dashboard-zh.png', fullPage: true });
  });

  it('lists the open alerts the API gives, with who must act, and resolves one with a note', async () => {
    const d = await dashboard();
    expect(d.alerts.items.length).toBeGreaterThan(0);
    await page.waitForSelector('#alerts[data-count]');
    const ids = await page.locator('#alerts li[data-id]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.id)));
    expect(ids).toEqual(d.alerts.items.map((a: { id: number }) => a.id));
    // Each title in the reader's language (Chinese here), made from the facts the API gives with it; the
    // server's own title is English.
    type Item = { kind: string; title: string; facts: Record<string, unknown> };
    const sentence: Record<string, (f: Record<string, unknown>) => string> = {
      firstCaseInCompound: (f) => `${f.compoundName}出现首例病例`,
      societyLevelCase: (f) => `${f.day} 社会面病例 ${f.cases} 例`,
      tasksOverdue: (f) => `${f.overdue} 项任务逾期`,
      labOverdue: (f) => `检测机构 ${f.labId} 有 ${f.tubes} 管超过 ${f.deadlineHours} 小时未出结果`,
      noBed: (f) => `病例 ${f.caseId} 等待床位：全市${{ shelterHospital: '方舱医院', designatedHospital: '定点医院普通床位', icu: 'ICU 床位' }[f.destination as string]}已满`,
    };
    const shown = await page.locator('#alerts li[data-id] .alert-title').allTextContents();
    expect(d.alerts.items.filter((a: Item) => sentence[a.kind]).length).toBeGreaterThan(0);
    d.alerts.items.forEach((a: Item, i: number) => {
      if (sentence[a.kind]) expect(shown[i]).toBe(sentence[a.kind](a.facts));
      expect(shown[i]).toMatch(/[\u4e00-\u9fff]/);
      expect(shown[i]).not.toBe(a.title);
    });
    // The first cases of compounds (the outbreak's, resolved or not) name their compound in their facts.
    const firsts = (await srv.call('GET', '/api/v1/alerts?kind=firstCaseInCompound&open=false&limit=1000', { as: city })).body.items;
    expect(firsts.length).toBeGreaterThan(0);
    const names = new Map((await ctx.db.query<{ id: number; name: string }>('SELECT id, name FROM compounds')).map((c) => [c.id, c.name]));
    for (const a of firsts) expect(a.facts.compoundName).toBe(names.get(a.facts.compoundId));
    const first = d.alerts.items[0];
    const item = page.locator(`#alerts li[data-id="${first.id}"]`);
    if (first.assignee) expect(await item.locator('.alert-who').textContent()).toContain('：');
    expect(await page.locator('#alerts-count').textContent()).toBe(String(d.alerts.total));
    // Resolve: too short a note is refused on the page; a real one resolves it on the server.
    await item.locator('button.resolve').click();
    await item.locator('.resolve-note').fill('ok');
    await item.locator('button.resolve-save').click();
    await item.locator('.row-error').waitFor({ state: 'visible' });
    await item.locator('.resolve-note').fill('Street team sent, compound sealed');
    await item.locator('button.resolve-save').click();
    await page.waitForSelector(`#alerts li[data-id="${first.id}"]`, { state: 'detached' });
    const open = (await srv.call('GET', '/api/v1/alerts', { as: city })).body.items.map((a: { id: number }) => a.id);
    expect(open).not.toContain(first.id);
    expect(await page.locator('#alerts-count').textContent()).toBe(String(d.alerts.total - 1));
    // An alert someone else resolved meanwhile: the server's refusal, its status and its words in the page's
    // language on the line, the server's own words in its title.
    const second = d.alerts.items[1];
    const other = page.locator(`#alerts li[data-id="${second.id}"]`);
    await other.locator('button.resolve').click();
    expect((await srv.call('POST', `/api/v1/alerts/${second.id}/resolve`, { as: city, body: { note: 'Resolved from another desk' } })).status).toBe(200);
    await other.locator('.resolve-note').fill('Street team sent');
    await other.locator('button.resolve-save').click();
    await other.locator('.row-error').waitFor({ state: 'visible' });
    expect(await other.locator('.row-error').textContent()).toBe(`404 · 没有未处理的预警 ${second.id}，或不在您的辖区内`);
    expect(await other.locator('.row-error').getAttribute('title')).toContain(`Open alert ${second.id}`);
  });

  it('lists the overdue tasks and marks them done in bulk', async () => {
    const d = await dashboard();
    const manual = d.overdueTasks.items.filter((x: { kind: string }) => x.kind === 'manual');
    expect(manual).toHaveLength(2);
    // A system task's title in the reader's language, made from the facts it came from; a task someone wrote
    // keeps their words. The server's own title stays in the title attribute.
    type Task = { id: number; kind: string; title: string; source: Record<string, unknown> };
    const sentence: Record<string, (f: Record<string, unknown>) => string> = {
      locate: (f) => `找到密接（人员 ${f.personId}），转运至集中隔离点`,
      transfer: (f) => `将病例 ${f.caseId} 转运至机构 ${f.facilityId}（${f.bedType === 'icu' ? 'ICU 床' : '普通床'}）`,
      supplyMissed: (f) => `保供批次 ${f.roundId}：${(f.householdIds as unknown[]).length} 户未收到物资`,
    };
    const rows = page.locator('#task-list tr[data-id] .task-title');
    expect(await rows.count()).toBe(d.overdueTasks.items.length);
    for (const [i, x] of (d.overdueTasks.items as Task[]).entries()) {
      expect(await rows.nth(i).getAttribute('title')).toBe(x.title);
      expect(await rows.nth(i).textContent()).toBe(sentence[x.kind] ? sentence[x.kind](x.source) : x.title);
    }
    expect(d.overdueTasks.items.filter((x: Task) => sentence[x.kind]).length, d.overdueTasks.items.map((x: Task) => x.kind).join()).toBeGreaterThan(0);
    for (const x of manual) await page.locator(`#task-list tr[data-id="${x.id}"] input.task-check`).check();
    expect(await page.locator('#bulk-selected').textContent()).toBe('已选 2 项');
    await page.selectOption('#bulk-status', 'done');
    await page.click('#bulk-apply');
    await page.waitForSelector('#bulk-result[data-kind="ok"]');
    expect(await page.locator('#bulk-result').textContent()).toBe('已更改 2 项任务');
    for (const x of manual) expect(await page.locator(`#task-list tr[data-id="${x.id}"]`).count()).toBe(0);
    const done = (await srv.call('GET', '/api/v1/tasks?kind=manual&status=done', { as: city })).body.items.map((x: { id: number }) => x.id);
    expect(done.sort()).toEqual(manual.map((x: { id: number }) => x.id).sort());
  });

  it('shows one district when it is chosen', async () => {
    const d = await dashboard();
    const busiest = [...d.rt.byDistrict].sort((a: { cases7d: number }, b: { cases7d: number }) => b.cases7d - a.cases7d)[0];
    const mine = await dashboard(`?districtId=${busiest.districtId}`);
    expect(sum(mine.curve.total)).toBeLessThanOrEqual(sum(d.curve.total));
    await page.selectOption('#district', String(busiest.districtId));
    await page.waitForFunction((total) => document.querySelector<HTMLElement>('#curve-chart')?.dataset.total === String(total), sum(mine.curve.total));
    expect(new URL(page.url()).searchParams.get('district')).toBe(String(busiest.districtId));
    await page.screenshot({ path: '/tmp/cordon-dashboard-district.png', fullPage: true });
  });

  it('drafts the bulletin on the page, holds an address back, and publishes it after a second person approves', async () => {
    await page.goto(`${srv.url}/bulletin.html`);
    await page.waitForSelector('#workflow:not([hidden])');
    await page.waitForSelector('#workflow[data-state]');
    expect(await page.inputValue('#wf-day')).toBe(YESTERDAY);
    await page.click('#wf-draft');
    await page.waitForSelector('#workflow[data-state="draft"]');
    const draft = (await srv.call('GET', `/api/v1/bulletins/${YESTERDAY}`, { as: city })).body;
    expect(draft.content.addresses.length).toBeGreaterThan(1);
    expect(Number(await page.getAttribute('#wf-address-list', 'data-count'))).toBe(draft.content.addresses.length);
    // One compound held back, with the reason.
    const held = draft.content.addresses[0];
    await page.locator(`#wf-address-list tr[data-compound="${held.compoundId}"] input.wf-pick`).check();
    await page.fill('#wf-reason', 'a single household, identifiable');
    await page.click('#wf-redact-go');
    await page.waitForSelector(`#wf-address-list tr.redacted[data-compound="${held.compoundId}"]`);
    // The one who drafted it may not approve it.
    expect(await page.locator('#wf-approve').isDisabled()).toBe(true);
    const approved = await srv.call('POST', `/api/v1/bulletins/${YESTERDAY}/approve`, { as: second });
    expect(approved.status, approved.text).toBe(200);
    await page.click('#wf-open');
    await page.waitForSelector('#workflow[data-state="approved"]');
    await page.click('#wf-publish');
    await page.waitForSelector('#workflow[data-state="published"]');
    await page.waitForSelector(`#days a[data-day="${YESTERDAY}"]`);
    await page.waitForSelector(`#bulletin[data-day="${YESTERDAY}"]`);
    await page.screenshot({ path: '/tmp/cordon-bulletin-workflow.png', fullPage: true });
    const pub = await srv.call('GET', `/api/v1/public/bulletins/${YESTERDAY}`);
    expect(pub.status).toBe(200);
    expect(pub.body.addresses.map((a: { compound: string }) => a.compound)).not.toContain(held.compound);
  });

  it('shows the published bulletin to anyone without signing in: counts, curve, compounds, no names', async () => {
    const anon = await browser.newContext(DESK);
    try {
      const p = await anon.newPage();
      p.on('pageerror', (e) => console.error('page error:', e.message));
      await p.goto(`${srv.url}/bulletin.html`);
      await p.waitForSelector(`#bulletin[data-day="${YESTERDAY}"]`);
      expect(p.url()).not.toMatch(/login/);
      expect(await p.locator('#workflow').isHidden()).toBe(true);
      expect(await p.locator('#sign-in').isVisible()).toBe(true);
      const pub = (await srv.call('GET', `/api/v1/public/bulletins/${YESTERDAY}`)).body;
      for (const k of ['confirmed', 'asymptomatic', 'discharged', 'died']) expect(await p.getAttribute(`#count-${k}`, 'data-value')).toBe(String(pub.totals[k]));
      expect(pub.totals.confirmed + pub.totals.asymptomatic).toBeGreaterThan(0);
      // The curve is the server's SVG, loaded.
      await p.waitForFunction(() => (document.querySelector<HTMLImageElement>('#curve')?.naturalWidth ?? 0) > 0);
      expect(await p.getAttribute('#curve', 'src')).toBe(`/api/v1/public/bulletins/${YESTERDAY}/curve.svg?lang=zh-CN`);
      expect(Number(await p.getAttribute('#addresses', 'data-count'))).toBe(pub.addresses.length);
      const text = await p.locator('body').innerText();
      expect(text).toContain(pub.addresses[0].compound);
      // No person's name anywhere (of the cases, the only persons a bulletin could name); the held-back compound is left out.
      const names = (await ctx.db.query<{ name: string }>('SELECT DISTINCT p.name FROM persons p JOIN cases c ON c.person_id = p.id')).map((r) => r.name);
      expect(names.length).toBeGreaterThan(0);
      const html = await p.content();
      expect(names.filter((n) => text.includes(n) || html.includes(n))).toEqual([]);
      const [held] = (await srv.call('GET', `/api/v1/bulletins/${YESTERDAY}`, { as: city })).body.redactions as { compoundId: number }[];
      expect(await p.locator('.address').allTextContents()).toHaveLength(pub.addresses.length);
      expect(held).toBeDefined();
      await p.screenshot({ path: '/tmp/cordon-bulletin-zh.png', fullPage: true });
      // In English: the title, the districts' English names, the curve in English.
      await p.click('#lang');
      await p.waitForSelector(`#bulletin[data-day="${YESTERDAY}"]`);
      await p.waitForFunction(() => document.documentElement.lang === 'en');
      expect(await p.locator('#bul-title').textContent()).toBe(`Bulletin of ${YESTERDAY}`);
      expect(await p.getAttribute('#curve', 'src')).toBe(`/api/v1/public/bulletins/${YESTERDAY}/curve.svg?lang=en`);
      const row = pub.districts.find((r: { confirmed: number; asymptomatic: number; nameEn: string | null }) => r.confirmed + r.asymptomatic > 0);
      if (row?.nameEn) expect(await p.locator(`#district-rows tr[data-district="${row.id}"] td`).first().textContent()).toBe(row.nameEn);
      await p.screenshot({ path: '/tmp/cordon-bulletin-en.png', fullPage: true });
    } finally {
      await anon.close();
    }
  });
});
