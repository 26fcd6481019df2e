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
