// The venue-code poster in a real browser against the real server on a generated city: a venue's operator
// opens their poster (name, QR image from the server, the code in small print), the QR as Chromium draws it
// decodes to the code the check-in accepts, print shows the sheet alone on one page of A4 or A5; a city user
// reaches the poster from the registry's venue rows, and another venue's poster is refused with the reason.
// Screenshots go to /tmp/cordon-poster-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import jsqr from 'jsqr';
import { writeFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testContext, testServer, type TestContext, type TestServer } from './harness.ts';
import { buildWeb, CHROMIUM, haveBrowser, launchBrowser, signIn } from './browser.ts';
import { createUser } from '../src/core/users.ts';
import { generateCity, loadCity } from '../src/sim/index.ts';
import { readVenueCode } from '../src/status/index.ts';

// jsqr is CommonJS with an ES default export in its types: the function is its `default`.
const jsQR = jsqr.default;

if (!haveBrowser) console.warn(`poster.browser.test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);

const OPERATOR = { username: 'operator', password: 'operator-browser-pw' };
const CITY = { username: 'city', password: 'city-browser-pw' };

/** PDF pages in a PDF file made by Chromium. */
const pdfPages = (pdf: Buffer) => (pdf.toString('latin1').match(/\/Type\s*\/Page\b(?!s)/g) ?? []).length;

describe.skipIf(!haveBrowser)('the venue-code poster in Chromium', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let browser: Browser;
  let venue: { id: number; name: string };
  let other: { id: number; name: string };

  beforeAll(async () => {
    buildWeb();
    ctx = await testContext();
    await loadCity(ctx, generateCity({ persons: 600, seed: 5 }));
    [venue, other] = await ctx.db.query<{ id: number; name: string }>('SELECT id, name FROM venues ORDER BY id LIMIT 2');
    await ctx.db.tx(async (q) => {
      await createUser(q, { ...OPERATOR, role: 'venue_operator', venueId: venue.id }, new Date());
      await createUser(q, { ...CITY, role: 'city_command' }, new Date());
    });
    srv = await testServer(ctx);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await ctx?.close();
  });

  describe("a venue's operator", () => {
    let context: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
      page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
    });
    afterAll(() => context?.close());

    it('sees the poster: the venue name, the QR image and the code in small print', async () => {
      await signIn(page, srv.url, `/poster.html?venue=${venue.id}`, OPERATOR);
      await page.waitForSelector('#poster[data-ready="true"]');
      expect(await page.locator('#venue-name').textContent()).toBe(venue.name);
      expect(await page.locator('#qr').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0)).toBe(true);
      expect(await page.locator('#qr').evaluate((img: HTMLImageElement) => img.getBoundingClientRect().width)).toBeGreaterThan(300);
      const code = (await page.locator('#venue-code').textContent()) ?? '';
      expect(readVenueCode(ctx.pii, code)).toBe(venue.id);
      expect(await page.locator('.poster-call').textContent()).toMatch(/请扫码登记\s*Scan to check in/);
      expect(await page.isEnabled('#print')).toBe(true);
      expect(await page.locator('#print').textContent()).toBe('打印');
      await page.screenshot({ path: '/tmp/cordon-poster-zh.png', fullPage: true });
    });

    it('shows a QR that, as Chromium draws it, decodes to the code the check-in accepts', async () => {
      const size = 400;
      const pixels = await page.evaluate((size) => {
        const img = document.getElementById('qr') as HTMLImageElement;
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = size;
        const g = canvas.getContext('2d')!;
        g.fillStyle = '#fff';
        g.fillRect(0, 0, size, size);
        g.drawImage(img, 0, 0, size, size);
        return Array.from(g.getImageData(0, 0, size, size).data);
      }, size);
      const decoded = jsQR(Uint8ClampedArray.from(pixels), size, size)?.data;
      expect(decoded).toBe(await page.locator('#venue-code').textContent());
      expect(readVenueCode(ctx.pii, decoded!)).toBe(venue.id);
    });

    it('prints the sheet alone, on one page of A4 or A5', async () => {
      await page.emulateMedia({ media: 'print' });
      for (const sel of ['#topbar', '#sidebar', '#print', '#paper']) expect(await page.isVisible(sel), sel).toBe(false);
      expect(await page.isVisible('#qr')).toBe(true);
      await page.screenshot({ path: '/tmp/cordon-poster-print.png', fullPage: true });
      expect(pdfPages(await page.pdf({ preferCSSPageSize: true, printBackground: true }))).toBe(1);
      // Back to no emulation (an emulated 'screen' would make page.pdf print the screen's CSS).
      await page.emulateMedia({ media: null });
      await page.selectOption('#paper', 'A5');
      expect(await page.getAttribute('#poster', 'class')).toContain('a5');
      expect(await page.locator('#page-size').textContent()).toContain('A5');
      const a5 = await page.pdf({ preferCSSPageSize: true, printBackground: true });
      await writeFile('/tmp/cordon-poster-a5.pdf', a5);
      expect(pdfPages(a5)).toBe(1);
      await page.selectOption('#paper', 'A4');
    });

    it("is refused another venue's poster, with the server's reason", async () => {
      await page.goto(`${srv.url}/poster.html?venue=${other.id}`);
      await page.locator('#message').waitFor({ state: 'visible' });
      // In the page's language; the server's words in the title.
      expect(await page.locator('#message').textContent()).toBe(`出错了 您管理的不是场所 ${other.id}`);
      expect(await page.getAttribute('#message .error-text', 'title')).toBe(`You operate venue ${venue.id}, not venue ${other.id}.`);
      expect(await page.isVisible('#qr')).toBe(false);
      expect(await page.isDisabled('#print')).toBe(true);
    });

    it('gets their own venue without ?venue=, and reads in English', async () => {
      await page.goto(`${srv.url}/poster.html`);
      await page.waitForSelector('#poster[data-ready="true"]');
      expect(new URL(page.url()).search).toBe(`?venue=${venue.id}`);
      await page.click('#lang-switch');
      await page.waitForLoadState('load');
      await page.waitForSelector('#poster[data-ready="true"]');
      expect(await page.locator('#print').textContent()).toBe('Print');
      expect(await page.locator('#venue-name').textContent()).toBe(venue.name);
      await page.screenshot({ path: '/tmp/cordon-poster-en.png', fullPage: true });
    });
  });

  it("takes a city user from the registry's venue row to the venue's poster", async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    try {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
      await signIn(page, srv.url, '/registry.html?entity=venues', CITY);
      const link = page.locator(`#table tr[data-id="${venue.id}"] a.poster-link`);
      await link.waitFor();
      expect(await link.getAttribute('href')).toBe(`/poster.html?venue=${venue.id}`);
      await link.click();
      await page.waitForURL((u) => u.pathname === '/poster.html');
      await page.waitForSelector('#poster[data-ready="true"]');
      expect(await page.locator('#venue-name').textContent()).toBe(venue.name);
      expect(await page.locator('#qr').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});
