import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (infra/tools/setup.sh installs it): Playwright cannot download its own browser here. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export const OFFICE_LAPTOP = { width: 1366, height: 768 };

export interface TestBrowser {
  browser: Browser;
  /** A new browser window at 1366×768 in the deployment's time zone, Chinese first. */
  context(options?: { viewport?: { width: number; height: number } }): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Playwright gives every launch a fresh, temporary profile (user-data dir) and removes it on close. */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  return {
    browser,
    context: (options = {}) =>
      browser.newContext({ viewport: options.viewport ?? OFFICE_LAPTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' }),
    close: () => browser.close(),
  };
}

/** Opens the console already signed in with `token`, as if the user had just signed in (the token in session storage). */
export async function openSignedIn(context: BrowserContext, baseUrl: string, token: string, hash = '#/overview'): Promise<Page> {
  await context.addInitScript(`sessionStorage.setItem('duban.token', ${JSON.stringify(token)})`);
  const page = await context.newPage();
  await page.goto(`${baseUrl}/${hash}`);
  return page;
}
