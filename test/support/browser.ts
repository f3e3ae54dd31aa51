import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, installed by test/support/install-tools.sh where missing. */
export const CHROMIUM_PATH = process.env['SPARKFN_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

/** Where page tests keep their screenshots (a test artefact; ignored by git). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../.tmp/artifacts/', import.meta.url));

/** Flags for a quiet headless run as root on a machine without a display or a network. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--no-first-run',
  '--metrics-recording-only',
];

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  /** Every URL a page asked for that was not on 127.0.0.1 (the request was aborted). */
  offHostRequests: string[];
  newPage(): Promise<Page>;
  /** Saves a full-page screenshot as `<ARTIFACTS_DIR>/<name>.png` and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts a headless Chromium through playwright-core in which any request to a host other than
 * 127.0.0.1 is aborted and recorded, so a test can assert that a page needs no network.
 * @example const b = await startBrowser(); const page = await b.newPage(); … await b.close();
 */
export async function startBrowser(options: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } });
  const offHostRequests: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    const local = url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:';
    if (local) return route.continue();
    offHostRequests.push(url.href);
    return route.abort();
  });
  return {
    browser,
    context,
    offHostRequests,
    newPage: () => context.newPage(),
    async screenshot(page, name) {
      await mkdir(ARTIFACTS_DIR, { recursive: true });
      const path = `${ARTIFACTS_DIR}${name}.png`;
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => browser.close(),
  };
}
