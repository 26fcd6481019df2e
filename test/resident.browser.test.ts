// A resident and a retest in a real browser against the real server on a generated city, with the platform
// clock in May 2022. Set up through the API: the resident had a negative single tube, then a 10-in-1 pool that
// a lab's CSV made positive. The resident signs in on a phone, lands on their own tests, reads the last
// negative time and that they wait for a retest, and reports a positive antigen self-test (a PCR task for
// their street follows). A sampler on a phone opens a single-tube retest of the pool, adds the resident and
// is refused a second person. Screenshots go to /tmp/cordon-resident-*.png and /tmp/cordon-retest-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { sampleTube, testContext, testServer, uploadResultsCsv, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { generateCity, loadCity } from '../src/sim/index.ts';

if (!haveBrowser) console.warn(`resident.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const RESIDENT = { username: 'resident', password: 'resident-browser-pw' };
const SAMPLER = { username: 'sampler', password: 'sampler-browser-pw' };
const LAB = { username: 'lab', password: 'lab-browser-pw' };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const SINGLE = 'NEG00001';
const POOL = 'POOL0001';
const RETEST = 'RT000001';

interface P {
  id: number;
  code: string;
  street: number;
}

describe.skipIf(!haveBrowser)('a resident and a pool retest in Chromium', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let browser: Browser;
  let resident: P;
  let others: P[];
  let pointId: number;
  let labId: number;
  let negativeSampledAt: Date;

  beforeAll(async () => {
    buildWeb();
    ctx = await testContext({ now: new Date('2022-05-10T01:00:00Z') });
    await loadCity(ctx, generateCity({ persons: 3000, seed: 11 }));
    // A street with a sampling point and enough persons for a 10-in-1 pool.
    const [street] = await ctx.db.query<{ id: number }>(
      `SELECT s.id FROM streets s JOIN persons p ON p.street_id = s.id
        WHERE EXISTS (SELECT 1 FROM sampling_points sp WHERE sp.street_id = s.id)
        GROUP BY s.id HAVING count(*) >= 12 ORDER BY s.id LIMIT 1`,
    );
    [{ id: pointId }] = await ctx.db.query<{ id: number }>('SELECT id FROM sampling_points WHERE street_id = $1 ORDER BY id LIMIT 1', [street.id]);
    [{ id: labId }] = await ctx.db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
    [resident, ...others] = await ctx.db.query<P>('SELECT id, personal_code AS code, street_id AS street FROM persons WHERE street_id = $1 ORDER BY id LIMIT 11', [street.id]);
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...RESIDENT, role: 'resident', personId: resident.id }, new Date());
      await createUser(q, { ...SAMPLER, role: 'sampler', streetId: street.id }, new Date());
      await createUser(q, { ...LAB, role: 'lab', labId }, new Date());
    });
    srv = await testServer(ctx);
    const sampler = await srv.login(SAMPLER.username, SAMPLER.password);
    const lab = await srv.login(LAB.username, LAB.password);

    // Day 1: a single tube, negative. Day 2: a 10-in-1 pool with the resident, positive.
    await sampleTube(srv, sampler, { barcode: SINGLE, samplingPointId: pointId, group: 'sealed' }, [resident].map((p) => p.code));
    await uploadResultsCsv(srv, lab, labId, [`${SINGLE},negative,,,2022-05-10T12:00:00+08:00`]);
    ctx.clock.set(new Date('2022-05-11T01:00:00Z'), 0);
    await sampleTube(srv, sampler, { barcode: POOL, samplingPointId: pointId, group: 'controlled' }, [resident, ...others.slice(0, 9)].map((p) => p.code));
    const report = await uploadResultsCsv(srv, lab, labId, [`${POOL},positive,31.5,33.2,2022-05-11T12:00:00+08:00`]);
    expect(report).toMatchObject({ applied: 1, poolControls: 10 });
    ctx.clock.set(new Date('2022-05-11T06:00:00Z'), 0);
    [{ at: negativeSampledAt }] = await ctx.db.query<{ at: Date }>('SELECT s.sampled_at AS at FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE t.barcode = $1', [SINGLE]);

    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await ctx?.close();
  });

  describe('a resident on a phone', () => {
    let phone: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      phone = await browser.newContext({ ...PHONE, locale: 'zh-CN' });
      page = await phone.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
    });
    afterAll(() => phone?.close());

    it('signs in and lands on their own tests: the last negative time and the pending retest', async () => {
      await page.goto(`${srv.url}/login.html`);
      await page.fill('#username', RESIDENT.username);
      await page.fill('#password', RESIDENT.password);
      await page.click('#login-submit');
      await page.waitForURL((u) => u.pathname === '/resident.html');
      await page.waitForSelector('#tests[data-count="2"]');
      // The navigation offers the resident their tests, not the sampler's, campaigns' or lab's pages.
      expect(await page.locator('#nav-resident').getAttribute('aria-current')).toBe('page');
      for (const other of ['#nav-sampler', '#nav-campaigns', '#nav-lab']) expect(await page.locator(other).count()).toBe(0);

      // Newest first: the positive pool with its Ct values, then the negative single tube.
      const tests = page.locator('#tests li.test');
      expect(await tests.evaluateAll((li) => li.map((x) => [x.getAttribute('data-barcode'), x.getAttribute('data-verdict')]))).toEqual([
        [POOL, 'positive'],
        [SINGLE, 'negative'],
      ]);
      expect(await tests.nth(0).textContent()).toContain('混管');
      expect(await tests.nth(0).locator('.test-ct').textContent()).toBe('Ct ORF1ab 31.5 · N 33.2');
      expect(await tests.nth(1).textContent()).toContain('单管');
      expect(await tests.nth(1).locator('.test-ct').count()).toBe(0);

      expect(new Date((await page.getAttribute('#last-negative', 'data-at'))!).getTime()).toBe(negativeSampledAt.getTime());
      const shown = await page.evaluate((iso) => new Date(iso).toLocaleString('zh-CN', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }), negativeSampledAt.toISOString());
      expect(await page.locator('#last-negative').textContent()).toBe(shown);
      expect(await page.getAttribute('#pool-control', 'data-state')).toBe('pending');
      expect(await page.locator('#pool-control').textContent()).toContain('等待单管复核');
      // Phone-first: nothing wider than the screen.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.screenshot({ path: '/tmp/cordon-resident-tests-zh.png', fullPage: true });
    });

    it('is told what is missing from an antigen report, in the page’s language', async () => {
      await page.click('#antigen-submit');
      await page.waitForSelector('#antigen-result[data-kind="error"]');
      expect(await page.locator('#antigen-result').textContent()).toContain('请选择自测结果');
      expect(await ctx.db.query('SELECT 1 FROM antigen_reports')).toHaveLength(0);
    });

    it('reports a positive antigen self-test and is told that a PCR task was created for their street', async () => {
      // The time defaults to the platform's now (May 2022 here), not the phone's.
      const testedAt = await page.inputValue('#tested-at');
      expect(testedAt.slice(0, 7)).toBe('2022-05');
      await page.check('input[name="result"][value="positive"]');
      await page.check('input[name="symptoms"][value="yes"]');
      await page.click('#antigen-submit');
      await page.waitForSelector('#antigen-result[data-kind="ok"]');
      const answer = page.locator('#antigen-result');
      expect(await answer.getAttribute('data-pcr-task')).toBe('true');
      expect(await answer.textContent()).toContain('已为您所在街镇生成核酸检测任务');
      expect(await answer.textContent()).toContain('抗原阳性');
      expect(await answer.textContent()).toContain('有症状');
      await page.screenshot({ path: '/tmp/cordon-resident-antigen-zh.png', fullPage: true });

      const reports = await ctx.db.query<{ id: number; person_id: number; result: string; symptoms: boolean; tested_at: Date; reported_by: string }>('SELECT id, person_id, result, symptoms, tested_at, reported_by FROM antigen_reports');
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ person_id: resident.id, result: 'positive', symptoms: true });
      expect(String(reports[0].id)).toBe(await answer.getAttribute('data-report-id'));
      expect(reports[0].tested_at.toISOString().slice(0, 16)).toBe(new Date(await page.evaluate((v) => new Date(v).toISOString(), testedAt)).toISOString().slice(0, 16));
      const tasks = await ctx.db.query<{ person_ids: number[]; street_id: number }>("SELECT person_ids, street_id FROM tasks WHERE kind = 'pcrAfterAntigen'");
      expect(tasks).toEqual([{ person_ids: [resident.id], street_id: resident.street }]);
    });

    it('reads the same in English', async () => {
      await page.click('#lang-switch');
      await page.waitForLoadState('load');
      await page.waitForSelector('#tests[data-count="2"]');
      expect(await page.locator('#nav-resident').textContent()).toBe('My tests');
      expect(await page.locator('#pool-control').textContent()).toContain('waiting for a single-tube retest');
      await page.screenshot({ path: '/tmp/cordon-resident-tests-en.png', fullPage: true });
      await page.evaluate('localStorage.setItem("cordon.lang", "zh-CN")');
    });
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

    it('opens a single-tube retest of the positive pool, adds the pool member and is refused a second person', async () => {
      await signIn(page, srv.url, '/sampler.html', SAMPLER);
      await page.waitForSelector(`#point option[value="${pointId}"]`, { state: 'attached' });
      await page.selectOption('#point', String(pointId));
      await page.click('#setup-done');
      expect(await page.isHidden('#retest-of')).toBe(true);
      await page.check('#retest');
      // The pool's barcode first (Enter moves on), then the new tube's.
      expect(await page.evaluate('document.activeElement.id')).toBe('retest-of');
      expect(await page.locator('#barcode-label').textContent()).toBe('扫描复核单管的条码开管');
      await page.keyboard.type('NOPOOL01');
      await page.keyboard.press('Enter');
      expect(await page.evaluate('document.activeElement.id')).toBe('barcode');
      await page.keyboard.type(RETEST);
      await page.keyboard.press('Enter');
      // An unknown pool: the server's reason, the tube's barcode back in its input.
      await page.waitForSelector('#feedback[data-kind="error"]');
      expect(await page.locator('#feedback').textContent()).toContain('No tube NOPOOL01 to retest');
      expect(await page.inputValue('#barcode')).toBe(RETEST);
      await page.fill('#retest-of', POOL);
      await page.focus('#barcode');
      await page.keyboard.press('Enter');

      await page.locator('#person-step').waitFor({ state: 'visible' });
      expect(await page.locator('#tube-barcode').textContent()).toBe(RETEST);
      expect(await page.locator('#tube-count').textContent()).toBe('0/1');
      expect(await page.locator('#tube-retest').textContent()).toBe(`单管复核 · 混管 ${POOL}`);
      expect(await page.locator('#feedback').textContent()).toContain(`混管 ${POOL} 的单管复核`);
      const [tube] = await ctx.db.query<{ capacity: number; pool: string; campaign_id: number | null }>('SELECT t.capacity, p.barcode AS pool, t.campaign_id FROM tubes t JOIN tubes p ON p.id = t.retest_of WHERE t.barcode = $1', [RETEST]);
      expect(tube).toEqual({ capacity: 1, pool: POOL, campaign_id: null });

      await page.keyboard.type(resident.code);
      await page.keyboard.press('Enter');
      await page.waitForFunction(`document.querySelector('#tube-count').textContent === '1/1'`);
      expect(await page.getAttribute('#feedback', 'data-kind')).toBe('ok');
      await page.keyboard.type(others[0].code);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#feedback[data-kind="error"]');
      expect(await page.getAttribute('#feedback', 'data-code')).toBe('tubeFull');
      expect(await page.locator('#feedback .feedback-detail').textContent()).toBe(`试管 ${RETEST} 已满：最多 1 人`);
      expect(await page.inputValue('#person')).toBe(others[0].code);
      expect(await page.locator('#tube-count').textContent()).toBe('1/1');
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.screenshot({ path: '/tmp/cordon-retest-refused-zh.png', fullPage: true });
      const samples = await ctx.db.query<{ person_id: number }>('SELECT s.person_id FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE t.barcode = $1', [RETEST]);
      expect(samples).toEqual([{ person_id: resident.id }]);
    });

    it('closes the retest tube and stays in retest mode for the pool’s next member', async () => {
      await page.click('#close-tube');
      await page.locator('#tube-step').waitFor({ state: 'visible' });
      expect(await page.isChecked('#retest')).toBe(true);
      expect(await page.inputValue('#retest-of')).toBe(POOL);
      expect(await page.evaluate('document.activeElement.id')).toBe('barcode');
      await page.screenshot({ path: '/tmp/cordon-retest-next-zh.png', fullPage: true });
      // Unticked, the next tube is an ordinary one again.
      await page.uncheck('#retest');
      expect(await page.isHidden('#retest-row')).toBe(true);
      expect(await page.locator('#barcode-label').textContent()).toBe('扫描试管条码开管');
    });
  });
});
