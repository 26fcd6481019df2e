// Status and entrances in a real browser against the real server on a generated city, with the platform
// clock in May 2022. Set up through the API: a resident's 10-in-1 pool made positive by a lab's CSV (red),
// a neighbour's negative single tube (green, admitted), a neighbour never tested (green, refused for want of
// a negative test). (a) The resident sees a red badge with the pool reason on their phone and files an
// appeal; the district command answers it on the checkpoints page and the resident reads the answer.
// (b) A command user asks for a manual colour, is refused their own approval (the server's 403 shown), and a
// second command user approves it. (c) An entrance device screen with a token registered through the API
// admits and refuses as the server answers; a hospital's emergency entrance admits a red person. (e) A
// resident of a compound the command placed under control reads it among their reasons, still green, and
// an entrance device outside the compound refuses them.
// Screenshots go to /tmp/cordon-status-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { sampleTube, testContext, testServer, uploadResultsCsv, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { generateCity, loadCity } from '../src/sim/index.ts';
import { zoningUpkeep } from '../src/zoning/index.ts';

if (!haveBrowser) console.warn(`status.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const PW = 'status-browser-pw';
const RESIDENT = { username: 'resident', password: PW };
const SAMPLER = { username: 'sampler', password: PW };
const LAB = { username: 'lab', password: PW };
const DISTRICT = { username: 'district', password: PW };
const DISTRICT2 = { username: 'district2', password: PW };
const CITY = { username: 'city', password: PW };
const OPERATOR = { username: 'operator', password: PW };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESK = { viewport: { width: 1440, height: 900 } };
const KIOSK = { viewport: { width: 800, height: 480 } };
const POOL = 'STPOOL01';

interface P {
  id: number;
  code: string;
  street: number;
  district: number;
}

describe.skipIf(!haveBrowser)('status, appeals, overrides and entrance devices in Chromium', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let browser: Browser;
  let resident: P;
  let pool: P[];
  let greenP: P;
  let untested: P;
  let labId: number;
  let venue: { id: number; name: string };
  let hospital: { id: number; name: string };
  let negativeSampledAt: Date;
  let appealId: number;

  beforeAll(async () => {
    buildWeb();
    ctx = await testContext({ now: new Date('2022-05-10T01:00:00Z') });
    await loadCity(ctx, generateCity({ persons: 3000, seed: 11 }));
    const [street] = await ctx.db.query<{ id: number }>(
      `SELECT s.id FROM streets s JOIN persons p ON p.street_id = s.id
        WHERE EXISTS (SELECT 1 FROM sampling_points sp WHERE sp.street_id = s.id)
        GROUP BY s.id HAVING count(*) >= 13 ORDER BY s.id LIMIT 1`,
    );
    const [{ id: pointId }] = await ctx.db.query<{ id: number }>('SELECT id FROM sampling_points WHERE street_id = $1 ORDER BY id LIMIT 1', [street.id]);
    [{ id: labId }] = await ctx.db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
    const people = await ctx.db.query<P>('SELECT id, personal_code AS code, street_id AS street, district_id AS district FROM persons WHERE street_id = $1 ORDER BY id LIMIT 12', [street.id]);
    [resident] = people;
    pool = people.slice(0, 10);
    greenP = people[10];
    untested = people[11];
    [venue] = await ctx.db.query<{ id: number; name: string }>("SELECT id, name FROM venues WHERE kind <> 'hospital' ORDER BY id LIMIT 1");
    [hospital] = await ctx.db.query<{ id: number; name: string }>("SELECT id, name FROM venues WHERE kind = 'hospital' ORDER BY id LIMIT 1");
    expect(hospital).toBeDefined();
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...RESIDENT, role: 'resident', personId: resident.id }, new Date());
      await createUser(q, { ...SAMPLER, role: 'sampler', streetId: street.id }, new Date());
      await createUser(q, { ...LAB, role: 'lab', labId }, new Date());
      await createUser(q, { ...DISTRICT, role: 'district_command', districtId: resident.district }, new Date());
      await createUser(q, { ...DISTRICT2, role: 'district_command', districtId: resident.district }, new Date());
      await createUser(q, { ...CITY, role: 'city_command' }, new Date());
      await createUser(q, { ...OPERATOR, role: 'venue_operator', venueId: venue.id }, new Date());
      // Vaccinations have no API yet (the vaccination capability records them): three doses, boosted.
      for (const dose of [1, 2, 3]) {
        await q.query("INSERT INTO vaccinations (person_id, dose, product, given_on, recorded_by, recorded_at) VALUES ($1, $2, 'CoronaVac', $3, 'test', now())", [greenP.id, dose, `2021-0${dose * 3}-01`]);
      }
    });
    srv = await testServer(ctx);
    const sampler = await srv.login(SAMPLER.username, SAMPLER.password);
    const lab = await srv.login(LAB.username, LAB.password);

    // Day 1: a negative single tube for the neighbour. Day 2: a 10-in-1 pool with the resident, positive.
    await sampleTube(srv, sampler, { barcode: 'STNEG001', samplingPointId: pointId, group: 'sealed' }, [greenP].map((p) => p.code));
    await uploadResultsCsv(srv, lab, labId, ['STNEG001,negative,,,2022-05-10T12:00:00+08:00']);
    ctx.clock.set(new Date('2022-05-11T01:00:00Z'), 0);
    await sampleTube(srv, sampler, { barcode: POOL, samplingPointId: pointId, group: 'controlled' }, pool.map((p) => p.code));
    expect(await uploadResultsCsv(srv, lab, labId, [`${POOL},positive,31.5,33.2,2022-05-11T12:00:00+08:00`])).toMatchObject({ applied: 1, poolControls: 10 });
    ctx.clock.set(new Date('2022-05-11T06:00:00Z'), 0);
    [{ at: negativeSampledAt }] = await ctx.db.query<{ at: Date }>('SELECT s.sampled_at AS at FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE t.barcode = $1', [
      'STNEG001',
    ]);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await ctx?.close();
  });
  async function newPage(options: Parameters<Browser['newContext']>[0]): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ locale: 'zh-CN', ...options });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    return { context, page };
  }

  describe('(a) a resident appeals a red code and the district answers', () => {
    let phone: BrowserContext;
    let page: Page;
    let desk: BrowserContext;
    let command: Page;
    beforeAll(async () => {
      ({ context: phone, page } = await newPage(PHONE));
      ({ context: desk, page: command } = await newPage(DESK));
    });
    afterAll(async () => {
      await phone?.close();
      await desk?.close();
    });

    it('shows the resident a red badge with the pool reason, on a phone', async () => {
      await signIn(page, srv.url, '/resident.html', RESIDENT);
      await page.waitForSelector('#status-badge[data-colour="red"]');
      expect(await page.locator('#status-badge').textContent()).toContain('红码');
      const reasons = page.locator('#status-reasons li.reason');
      expect(await reasons.evaluateAll((li) => li.map((x) => [x.getAttribute('data-code'), x.getAttribute('data-colour')]))).toEqual([['poolPositive', 'red']]);
      expect(await reasons.first().textContent()).toContain('所在混管阳性，等待单管复核');
      // A pool's control ends with a retest, not at a time: said in words, and no time for the colour to change.
      expect(await reasons.first().locator('.reason-until').textContent()).toBe('待有新结果后解除');
      expect(await page.locator('#status-changes').textContent()).toContain('不会自动转码');
      // Sampled this morning: no overdue-test prompt.
      expect(await page.isHidden('#status-prompts')).toBe(true);
      // The colleague's part of the page still works below it.
      await page.waitForSelector('#tests[data-count="1"]');
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.screenshot({ path: '/tmp/cordon-status-resident-red-zh.png', fullPage: true });
    });

    it('files an appeal and sees it in their own list, open', async () => {
      await page.click('#appeal summary');
      await page.click('#appeal-submit');
      await page.waitForSelector('#appeal-result[data-kind="error"]');
      expect(await page.locator('#appeal-result').textContent()).toContain('请写明申诉内容');
      await page.fill('#appeal-text', '我单管复核前一直居家，混管里其他人已经阴性，请复核我的健康码。');
      await page.click('#appeal-submit');
      await page.waitForSelector('#appeal-result[data-kind="ok"]');
      appealId = Number(await page.getAttribute('#appeal-result', 'data-appeal-id'));
      expect(appealId).toBeGreaterThan(0);
      await page.waitForSelector('#appeals[data-count="1"]');
      expect(await page.getAttribute('#appeals li', 'data-state')).toBe('open');
      expect(await page.locator('#appeals li .appeal-state').textContent()).toBe('处理中');
      const [row] = await ctx.db.query<{ person_id: number; colour: string; state: string }>('SELECT person_id, colour, state FROM status_appeals WHERE id = $1', [appealId]);
      expect(row).toEqual({ person_id: resident.id, colour: 'red', state: 'open' });
      await page.screenshot({ path: '/tmp/cordon-status-appeal-filed-zh.png', fullPage: true });
    });

    it('puts the appeal in the district command’s queue with the hours it waited, where it is answered', async () => {
      // Three hours later the district looks at its queue.
      ctx.clock.set(new Date('2022-05-11T09:00:00Z'), 0);
      await signIn(command, srv.url, '/checkpoints.html', DISTRICT);
      expect(await command.locator('#nav-checkpoints').getAttribute('aria-current')).toBe('page');
      const item = command.locator(`#appeal-queue li[data-id="${appealId}"]`);
      await item.waitFor();
      expect(await item.getAttribute('data-person')).toBe(String(resident.id));
      expect(await item.locator('.waited').textContent()).toBe('已等待 3 小时');
      expect(await item.textContent()).toContain('请复核我的健康码');
      expect(await item.textContent()).toContain('所在混管阳性');
      expect(await item.locator('.colour-chip').getAttribute('data-colour')).toBe('red');
      await command.screenshot({ path: '/tmp/cordon-status-checkpoints-queue-zh.png', fullPage: true });

      // An answer needs a choice and words.
      await item.locator('button.answer').click();
      expect(await item.locator('.row-error').textContent()).toBe('请选择申诉成立或不成立');
      await item.locator('input[value="upheld"]').check();
      await item.locator('textarea.answer-text').fill('经核实申诉成立，已申请人工改码，请继续居家等待单管复核。');
      await item.locator('button.answer').click();
      await command.waitForSelector('#appeal-queue[data-count="0"]');
      expect(await command.locator('#message').textContent()).toContain(`申诉 ${appealId} 已答复：申诉成立`);
      const [row] = await ctx.db.query<{ state: string; answer: string }>('SELECT state, answer FROM status_appeals WHERE id = $1', [appealId]);
      expect(row.state).toBe('upheld');
    });

    it('shows the resident the answer', async () => {
      await page.reload();
      await page.waitForSelector('#appeals li[data-state="upheld"]');
      expect(await page.locator('#appeals li .appeal-answer').textContent()).toContain('经核实申诉成立');
      await page.screenshot({ path: '/tmp/cordon-status-appeal-answered-zh.png', fullPage: true });
    });
  });

  describe('(b) a manual colour needs a second person', () => {
    let desk: BrowserContext;
    let first: Page;
    let desk2: BrowserContext;
    let second: Page;
    beforeAll(async () => {
      ({ context: desk, page: first } = await newPage(DESK));
      ({ context: desk2, page: second } = await newPage(DESK));
    });
    afterAll(async () => {
      await desk?.close();
      await desk2?.close();
    });

    it('lets one command user ask, and shows the server’s refusal when they approve their own', async () => {
      await signIn(first, srv.url, '/checkpoints.html', DISTRICT);
      await first.waitForSelector('#override-list[data-count="0"]');
      await first.fill('#ov-person', String(resident.id));
      await first.selectOption('#ov-colour', 'green');
      await first.fill('#ov-hours', '48');
      await first.fill('#ov-reason', '短');
      await first.click('#ov-submit');
      await first.waitForSelector('#ov-result[data-kind="error"]');
      expect(await first.locator('#ov-result').textContent()).toBe('请写明理由（至少 10 个字）');
      await first.fill('#ov-reason', '申诉成立：混管其余九人单管复核均为阴性，本人居家未外出。');
      await first.click('#ov-submit');
      await first.waitForSelector('#ov-result[data-kind="ok"]');
      const id = await first.getAttribute('#ov-result', 'data-id');
      const item = first.locator(`#override-list li[data-id="${id}"]`);
      await item.waitFor();
      expect(await item.getAttribute('data-mine')).toBe('true');
      expect(await item.textContent()).toContain('48 小时');

      await item.locator('button.approve').click();
      const problem = item.locator('.row-error');
      await problem.waitFor();
      expect(await problem.getAttribute('data-status')).toBe('403');
      expect(await problem.textContent()).toBe('403 · 人工改码须由另一人审批：这是您本人提出的申请');
      // The server's own words in the title.
      expect(await problem.getAttribute('title')).toMatch(/second person/);
      await first.screenshot({ path: '/tmp/cordon-status-override-own-zh.png', fullPage: true });
      const [o] = await ctx.db.query<{ approved_at: Date | null }>('SELECT approved_at FROM status_overrides WHERE id = $1', [id]);
      expect(o.approved_at).toBeNull();
    });

    it('lets a second command user approve it, and the resident turns green', async () => {
      await signIn(second, srv.url, '/checkpoints.html', DISTRICT2);
      const item = second.locator('#override-list li').first();
      await item.waitFor();
      expect(await item.getAttribute('data-mine')).toBe('false');
      expect(await item.getAttribute('data-person')).toBe(String(resident.id));
      await item.locator('button.approve').click();
      await second.waitForSelector('#override-list[data-count="0"]');
      expect(await second.locator('#message').textContent()).toContain('已批准');
      await second.selectOption('#override-state', 'approved');
      await second.waitForSelector('#override-list[data-state="approved"][data-count="1"]');
      expect(await second.locator('#override-list li').textContent()).toContain('district2 批准于');
      await second.screenshot({ path: '/tmp/cordon-status-override-approved-zh.png', fullPage: true });

      const district = await srv.login(DISTRICT.username, DISTRICT.password);
      const s = await srv.call('GET', `/api/v1/persons/${resident.id}/status`, { as: district });
      expect(s.status).toBe(200);
      expect(s.body.colour).toBe('green');
      expect(s.body.reasons.map((r: { code: string; overridden?: boolean }) => [r.code, r.overridden ?? false])).toEqual([
        ['override', false],
        ['poolPositive', true],
      ]);
    });

    it('shows the resident the manual colour with its reason and when it ends', async () => {
      const { context, page } = await newPage(PHONE);
      try {
        await signIn(page, srv.url, '/resident.html', RESIDENT);
        await page.waitForSelector('#status-badge[data-colour="green"]');
        const override = page.locator('#status-reasons li[data-code="override"]');
        expect(await override.textContent()).toContain('混管其余九人单管复核均为阴性');
        expect(await override.locator('.reason-until').getAttribute('data-until')).toBe('2022-05-13T09:00:00.000Z');
        expect(await page.getAttribute('#status-reasons li[data-code="poolPositive"]', 'class')).toContain('overridden');
        expect(await page.getAttribute('#status-changes', 'data-at')).toBe('2022-05-13T09:00:00.000Z');
        await page.screenshot({ path: '/tmp/cordon-status-resident-override-zh.png', fullPage: true });
      } finally {
        await context.close();
      }
    });
  });

  describe('(c) an entrance device', () => {
    let kiosk: BrowserContext;
    let page: Page;
    let mainToken: string;
    let emergencyToken: string;
    const red = () => pool[3];
    beforeAll(async () => {
      ({ context: kiosk, page } = await newPage(KIOSK));
      const operator = await srv.login(OPERATOR.username, OPERATOR.password);
      const city = await srv.login(CITY.username, CITY.password);
      const main = await srv.call('POST', `/api/v1/venues/${venue.id}/sentinels`, { as: operator, body: { name: 'Gate A' } });
      expect(main.status, main.text).toBe(201);
      mainToken = main.body.token;
      const wrong = await srv.call('POST', `/api/v1/venues/${venue.id}/sentinels`, { as: operator, body: { name: 'ER', entrance: 'emergency' } });
      expect(wrong.status).toBe(400);
      const er = await srv.call('POST', `/api/v1/venues/${hospital.id}/sentinels`, { as: city, body: { name: 'ER door', entrance: 'emergency' } });
      expect(er.status, er.text).toBe(201);
      emergencyToken = er.body.token;
    });
    afterAll(() => kiosk?.close());

    it('asks for the device token on first use', async () => {
      await page.goto(`${srv.url}/sentinel.html?hold=2`);
      await page.locator('#setup').waitFor({ state: 'visible' });
      expect(await page.isHidden('#kiosk')).toBe(true);
      // Nobody is signed in on a kiosk: no registration form, just the token.
      expect(await page.isHidden('#register-form')).toBe(true);
      await page.click('#token-save');
      expect(await page.locator('#setup-error').textContent()).toContain('请输入完整的设备令牌');
      await page.screenshot({ path: '/tmp/cordon-status-sentinel-setup-zh.png' });
      await page.fill('#token-input', mainToken);
      await page.click('#token-save');
      await page.locator('#kiosk').waitFor({ state: 'visible' });
      expect(await page.evaluate('document.activeElement.id')).toBe('scan');
      expect(await page.evaluate('localStorage.getItem("cordon.sentinel.token")')).toBe(mainToken);
      expect(await page.getAttribute('#screen', 'data-state')).toBe('idle');
    });

    it('admits a green person with a recent negative test, and shows the colour, the test and vaccination', async () => {
      await page.keyboard.type(greenP.code.toLowerCase());
      await page.keyboard.press('Enter');
      await page.waitForSelector('#screen[data-state="admit"]');
      expect(await page.getAttribute('#screen', 'data-colour')).toBe('green');
      expect(await page.locator('#verdict').textContent()).toContain('通行');
      expect(await page.locator('#answer-colour').textContent()).toBe('绿码');
      expect(new Date((await page.getAttribute('#answer-negative', 'data-at'))!).getTime()).toBe(negativeSampledAt.getTime());
      expect(await page.locator('#answer-negative').textContent()).toContain('小时前');
      expect(await page.getAttribute('#answer-vaccination', 'data-doses')).toBe('3');
      expect(await page.getAttribute('#answer-vaccination', 'data-boosted')).toBe('true');
      expect(await page.locator('#answer-vaccination').textContent()).toContain('已加强免疫');
      expect(await page.locator('#venue-name').textContent()).toBe(venue.name);
      expect(await page.locator('#entrance').textContent()).toBe('普通入口');
      // Fits an 800x480 screen: nothing scrolls.
      expect(await page.evaluate('document.documentElement.scrollHeight')).toBeLessThanOrEqual(480);
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(800);
      await page.screenshot({ path: '/tmp/cordon-status-sentinel-admit-zh.png' });
      const [scan] = await ctx.db.query<{ person_id: number; source: string; admitted: boolean; colour: string }>('SELECT person_id, source, admitted, colour FROM checkins ORDER BY scanned_at DESC LIMIT 1');
      expect(scan).toEqual({ person_id: greenP.id, source: 'sentinel', admitted: true, colour: 'green' });
    });

    it('takes the next scan at once: a person never tested is refused, as the server answers', async () => {
      // The input is empty and focused while the last answer is still on the screen.
      expect(await page.inputValue('#scan')).toBe('');
      expect(await page.evaluate('document.activeElement.id')).toBe('scan');
      await page.keyboard.type(untested.code);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#screen[data-state="refuse"]');
      expect(await page.getAttribute('#screen', 'data-colour')).toBe('green');
      expect(await page.locator('#verdict').textContent()).toContain('禁止通行');
      expect(await page.locator('#answer-negative').textContent()).toContain('无阴性记录');
      // The decision in the reader's language; the server's words in the title.
      const because = page.locator('#answer-because li').first();
      expect(await because.textContent()).toBe('无 72 小时内采样的阴性核酸结果');
      expect(await because.getAttribute('data-code')).toBe('noNegative');
      expect(await because.getAttribute('title')).toBe('No negative PCR sampled within 72 h');
      await page.screenshot({ path: '/tmp/cordon-status-sentinel-refuse-zh.png' });
      // And back to scanning by itself (hold=2 s here).
      await page.waitForSelector('#screen[data-state="idle"]', { timeout: 5000 });
    });

    it('refuses a red person at the main entrance with the reason, and says when a code is unknown', async () => {
      await page.keyboard.type(red().code);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#screen[data-state="refuse"]');
      expect(await page.getAttribute('#screen', 'data-colour')).toBe('red');
      expect(await page.locator('#answer-reasons').textContent()).toContain('所在混管阳性');
      await page.keyboard.type('ZZZZZZZZ');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#screen[data-state="error"][data-problem="unknown"]');
      expect(await page.locator('#verdict, .sn-verdict').first().textContent()).toContain('查无此人');
      // The server's refusal in the guard's language, its own words in the title.
      expect(await page.locator('#answer-problem').textContent()).toBe('查无个人码或身份证号为 ZZZZZZZZ 的人员，或不在您的辖区内');
      expect(await page.getAttribute('#answer-problem', 'title')).toBe('Person with code or ID number ZZZZZZZZ does not exist or is outside your jurisdiction.');
    });

    it('admits a red person at a hospital’s emergency entrance, after the token is reset', async () => {
      await page.click('#reset');
      await page.click('#reset-yes');
      await page.locator('#setup').waitFor({ state: 'visible' });
      expect(await page.evaluate('localStorage.getItem("cordon.sentinel.token")')).toBeNull();
      await page.fill('#token-input', emergencyToken);
      await page.click('#token-save');
      await page.locator('#kiosk').waitFor({ state: 'visible' });
      await page.keyboard.type(red().code);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#screen[data-state="admit"]');
      expect(await page.getAttribute('#screen', 'data-colour')).toBe('red');
      expect(await page.locator('#answer-colour').textContent()).toBe('红码');
      expect(await page.locator('#answer-because').textContent()).toBe('急诊通道：任何人都不拒之门外（rules.md 24）；当前红码');
      expect(await page.locator('#entrance').textContent()).toBe('急诊通道');
      expect(await page.locator('#venue-name').textContent()).toBe(hospital.name);
      await page.screenshot({ path: '/tmp/cordon-status-sentinel-emergency-zh.png' });
    });

    it('works on a phone, and in English', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.evaluate('localStorage.setItem("cordon.lang", "en")');
      await page.reload();
      await page.locator('#kiosk').waitFor({ state: 'visible' });
      await page.keyboard.type(red().code);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#screen[data-state="admit"]');
      expect(await page.locator('#verdict').textContent()).toContain('ADMIT');
      expect(await page.locator('#entrance').textContent()).toBe('Emergency entrance');
      expect(await page.locator('#answer-because').textContent()).toBe('Medical emergency entrance: never refused (rules.md 24); status Red');
      await page.screenshot({ path: '/tmp/cordon-status-sentinel-phone-en.png' });
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    });

    it('says so when its token is not a registered device', async () => {
      await page.evaluate('localStorage.setItem("cordon.sentinel.token", "not-a-registered-device-token")');
      await page.reload();
      await page.locator('#kiosk').waitFor({ state: 'visible' });
      await page.keyboard.type(greenP.code);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#screen[data-state="error"][data-problem="device"]');
      expect(await page.locator('#answer-problem').textContent()).toBe('This device token is unknown or revoked');
      await page.click('#answer-reset');
      await page.click('#reset-yes');
      await page.locator('#setup').waitFor({ state: 'visible' });
    });

    it('lets a signed-in venue operator register the screen, from the navigation', async () => {
      const { context, page: op } = await newPage(KIOSK);
      try {
        await op.goto(`${srv.url}/login.html`);
        await op.fill('#username', OPERATOR.username);
        await op.fill('#password', OPERATOR.password);
        await op.click('#login-submit');
        await op.waitForURL((u) => u.pathname === '/');
        await op.click('#nav-sentinel');
        await op.waitForURL((u) => u.pathname === '/sentinel.html');
        await op.locator('#register-form').waitFor({ state: 'visible' });
        expect(await op.isHidden('#register-venue-row')).toBe(true);
        await op.click('#register-submit');
        await op.locator('#kiosk').waitFor({ state: 'visible' });
        await op.keyboard.type(greenP.code);
        await op.keyboard.press('Enter');
        await op.waitForSelector('#screen[data-state="admit"]');
        const devices = await ctx.db.query<{ venue_id: number; name: string }>('SELECT venue_id, name FROM sentinel_devices ORDER BY id');
        expect(devices.map((d) => d.venue_id)).toEqual([venue.id, hospital.id, venue.id]);
        expect(devices[2].name).toBe('入口 1');
      } finally {
        await context.close();
      }
    });
  });

  describe('(d) use of venue codes and entrance devices', () => {
    it('shows city command every district with its devices and scanning venues', async () => {
      const { context, page } = await newPage(DESK);
      try {
        await signIn(page, srv.url, '/checkpoints.html', CITY);
        await page.waitForSelector('#usage-body tr[data-district="total"]');
        const [{ n }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM districts');
        expect(await page.locator('#usage-body tr:not(.total)').count()).toBe(n);
        const total = page.locator('#usage-body tr[data-district="total"] td');
        // Three devices registered; two venues scanned (the gate twice over, the hospital's emergency door).
        expect(await total.nth(6).textContent()).toBe('3');
        expect(await total.nth(3).textContent()).toBe('2');
        await page.screenshot({ path: '/tmp/cordon-status-usage-zh.png', fullPage: true });
      } finally {
        await context.close();
      }
    });
  });

  // Last: the zoning job runs here, and every compound has a zone from then on.
  describe('(e) a resident of a controlled compound', () => {
    let confined: P;
    beforeAll(async () => {
      // Someone whose compound holds none of the people above, nor the venue.
      [confined] = await ctx.db.query<P>(
        `SELECT id, personal_code AS code, street_id AS street, district_id AS district FROM persons
          WHERE compound_id NOT IN (SELECT compound_id FROM persons WHERE id = ANY($1)) AND compound_id IS DISTINCT FROM (SELECT compound_id FROM venues WHERE id = $2)
          ORDER BY id LIMIT 1`,
        [[resident, ...pool, greenP, untested].map((p) => p.id), venue.id],
      );
      const city = await srv.login(CITY.username, CITY.password);
      const [{ compound_id: home }] = await ctx.db.query<{ compound_id: number }>('SELECT compound_id FROM persons WHERE id = $1', [confined.id]);
      const made = await srv.call('POST', '/api/v1/zones/designations', { as: city, body: { compoundIds: [home], reason: 'Close contacts live here' } });
      expect(made.status, made.text).toBe(201);
      await zoningUpkeep(ctx.db, ctx.preset, ctx.clock.now());
      await ctx.db.tx((q) => createUser(q, { username: 'confined', password: PW, role: 'resident', personId: confined.id }, new Date()));
    });

    it('shows the resident the zone among their reasons, the code still green, and when it ends', async () => {
      const { context, page } = await newPage(PHONE);
      try {
        await signIn(page, srv.url, '/resident.html', { username: 'confined', password: PW });
        await page.waitForSelector('#status-badge[data-colour="green"]');
        const reasons = page.locator('#status-reasons li.reason');
        expect(await reasons.evaluateAll((li) => li.map((x) => [x.getAttribute('data-code'), x.getAttribute('data-colour')]))).toEqual([['controlledCompound', 'green']]);
        expect(await reasons.first().textContent()).toContain('所在小区为管控区：不出小区');
        // Controlled from today, precaution after 7 clean days (rules.md 4): the zone's next move.
        expect(await reasons.first().locator('.reason-until').getAttribute('data-until')).toBe('2022-05-17T16:00:00.000Z');
        await page.screenshot({ path: '/tmp/cordon-status-resident-confined-zh.png', fullPage: true });
      } finally {
        await context.close();
      }
    });

    it('is refused by an entrance device outside the compound, which words the zone', async () => {
      const operator = await srv.login(OPERATOR.username, OPERATOR.password);
      const device = await srv.call('POST', `/api/v1/venues/${venue.id}/sentinels`, { as: operator, body: { name: 'Gate B' } });
      const { context, page } = await newPage(KIOSK);
      try {
        await page.goto(`${srv.url}/sentinel.html?hold=2`);
        await page.fill('#token-input', device.body.token);
        await page.click('#token-save');
        await page.locator('#kiosk').waitFor({ state: 'visible' });
        await page.keyboard.type(confined.code);
        await page.keyboard.press('Enter');
        await page.waitForSelector('#screen[data-state="refuse"]');
        expect(await page.getAttribute('#screen', 'data-colour')).toBe('green');
        const because = page.locator('#answer-because li').first();
        expect(await because.getAttribute('data-code')).toBe('confined');
        expect(await because.textContent()).toBe('居住小区为管控区，不得离开小区');
        expect(await because.getAttribute('title')).toBe('Lives in a controlled compound and may not leave it (rules.md 1-2, 11)');
        await page.screenshot({ path: '/tmp/cordon-status-sentinel-confined-zh.png' });
      } finally {
        await context.close();
      }
    });
  });
});
