// What the browser tests share: the pages built by Vite, the system's Chromium, and signing in through the form.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// In CI a missing browser is a failure, not a skip: the launch throws.
export const haveBrowser = existsSync(CHROMIUM) || process.env.CI === 'true';

/** Builds dist/web: the server serves the pages only if they exist when the app is built. */
export function buildWeb(): void {
  execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens `path`, is sent to the sign-in page, signs in there and waits to be back on `path`. */
export async function signIn(page: Page, baseUrl: string, pagePath: string, user: { username: string; password: string }): Promise<void> {
  await page.goto(baseUrl + pagePath);
  await page.waitForURL(/\/login\.html\?next=/);
  await page.fill('#username', user.username);
  await page.fill('#password', user.password);
  await page.click('#login-submit');
  await page.waitForURL((u) => u.pathname + u.search === pagePath);
}

/** The share of a chart's canvas (inside `selector`) that has been drawn on: 0 when nothing is. */
export async function canvasInk(page: Page, selector: string): Promise<number> {
  return page.evaluate((sel) => {
    const c = document.querySelector<HTMLCanvasElement>(`${sel} canvas`);
    if (!c || !c.width || !c.height) return 0;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n / (d.length / 4);
  }, selector);
}
