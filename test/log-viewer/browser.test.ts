import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import type { LivePod } from '../../functions/log-viewer/html/app-page.js';
import type { RunningServer } from '../../shared/http/server.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import { ARTIFACTS_DIR, type TestBrowser, startBrowser } from '../support/browser.js';
import { APP_ID, tempStore } from '../log-archiver/support.js';
import { archiveLines, startViewer } from './pages-support.js';

/** Pages load from the loopback server: a few seconds is plenty even on a loaded machine. */
const PAGE_TIMEOUT_MS = 15_000;

let browser: TestBrowser;
let store: FileObjectStore;
let cleanup: () => Promise<void>;
let server: RunningServer;
beforeAll(async () => {
  browser = await startBrowser();
}, 60_000);
afterAll(async () => browser?.close());
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  browser.offHostRequests.length = 0;
});
afterEach(async () => {
  await server?.close(0);
  await cleanup();
});

/** A screenshot of what the window shows (a full-page one of a 1000-line log takes seconds and megabytes). */
const viewportShot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS_DIR}${name}.png` });

/** A page that records CSP violations and script errors, for the test to assert there were none. */
async function watchedPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // A string: it runs in the page, whose DOM types this (Node) project does not load.
  await page.addInitScript({ content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));" });
  return { page, problems };
}

const stderrLines = Array.from({ length: 2500 }, (_, i) => `25/05/14 02:15:${String(i % 60).padStart(2, '0')} ${i % 250 === 7 ? 'ERROR TaskSetManager: Lost task' : 'INFO Executor: Running task'} ${i + 1} ${'.'.repeat(i % 50)}`);

describe('log-viewer in a browser', () => {
  it('starts from recent apps, opens the app, an executor’s stderr, searches and pages earlier, all from 127.0.0.1 under the CSP', async () => {
    await archiveLines(store, ['driver started'], { appId: APP_ID, executorId: 'driver', stream: 'stdout', appName: 'etl-orders-daily' });
    await archiveLines(store, stderrLines, { appId: APP_ID, executorId: '1', firstOffset: 10 });
    await archiveLines(store, ['executor 2 here'], { appId: APP_ID, executorId: '2', firstOffset: 5000 });
    server = await startViewer(store);
    const { page, problems } = await watchedPage();

    const list = await page.goto(`${server.url}/logs`);
    expect(list?.headers()['content-security-policy']).toMatch(/^default-src 'none'; script-src 'nonce-/);
    await page.locator('#apps').getByText('etl-orders-daily').waitFor();
    await browser.screenshot(page, 'logs-recent-apps');
    await page.getByRole('link', { name: APP_ID }).click();

    await page.locator('#executors').waitFor();
    expect(await page.locator('#executors tbody tr').evaluateAll((rows) => rows.map((r) => r.id))).toEqual(['executor-driver', 'executor-1', 'executor-2']);
    await browser.screenshot(page, 'logs-app-page');
    await page.locator('#executor-1 a.stream-stderr').click();

    await page.waitForURL(`${server.url}/logs/${APP_ID}/1/stderr`);
    const last = page.locator('#log .l').last();
    expect(await last.innerText()).toBe(`2500${stderrLines[2499]}`);
    expect(await page.locator('#L2500 .n').innerText()).toBe('2500');
    await viewportShot(page, 'logs-stderr');

    const firstShown = Number(await page.locator('#log .l .n').first().innerText());
    expect(firstShown).toBeGreaterThan(1);
    await page.locator('#earlier').first().click();
    await page.waitForURL(/start=\d+&end=\d+/);
    expect(Number(await page.locator('#log .l .n').last().innerText())).toBe(firstShown - 1);
    expect(await page.locator(`#L${firstShown - 1}`).innerText()).toBe(`${firstShown - 1}${stderrLines[firstShown - 2]}`);
    await viewportShot(page, 'logs-stderr-earlier');

    await page.fill('#grep', 'ERROR\\s+TaskSetManager');
    await page.check('input[name=regex]');
    await page.selectOption('select[name=context]', '2');
    await page.click('#search');
    await page.locator('#search-summary').waitFor();
    expect(await page.locator('#search-summary').innerText()).toMatch(/^10 matching lines in 2500 lines searched\./);
    expect(await page.locator('#results .hit .n').allInnerTexts()).toEqual(['8', '258', '508', '758', '1008', '1258', '1508', '1758', '2008', '2258']);
    expect(await page.locator('#results .l:not(.sep)').count()).toBe(50);
    expect(await page.inputValue('#grep')).toBe('ERROR\\s+TaskSetManager');
    await browser.screenshot(page, 'logs-search');

    const download = await page.locator('#download').getAttribute('href');
    expect(download).toBe(`/logs/${APP_ID}/1/stderr?download=1`);
    expect(browser.offHostRequests).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('never runs script from a log line: in the log, the search results, the app page and the list', async () => {
    const evil = [
      '<script>window.__xss=1</script>',
      '<img src=x onerror="window.__xss=2">',
      '"><svg onload="window.__xss=3">',
      '\u001b[31m<script>window.__xss=4</script>\u001b[0m',
      'javascript:window.__xss=5',
    ];
    await archiveLines(store, evil, { appId: APP_ID, appName: '<img src=x onerror="window.__xss=6">' });
    const pods = new Map<string, LivePod>([['1', { podName: '<script>window.__xss=7</script>', node: 'virtual-kubelet-cn-hangzhou-k', running: true }]]);
    server = await startViewer(store, { access: { kind: 'none' }, pods: async () => pods });
    const { page, problems } = await watchedPage();
    // Each page starts a new window: every page is checked before the next is opened.
    const ran = () => page.evaluate('typeof window.__xss');

    await page.goto(`${server.url}/logs/${APP_ID}/1/stderr`);
    expect(await page.locator('#log .l').allInnerTexts()).toEqual(evil.map((t, i) => `${i + 1}${t.replace(/\u001b\[\d+m/g, '')}`));
    expect(await page.locator('#log img, #log svg, #log script').count()).toBe(0);
    // Follow skips the lines shown and ends with the log (no cluster here: the archive is all there is);
    // browser-live.test.ts follows a real pod log with such lines in it.
    await page.click('#follow');
    await page.locator('#follow-status').getByText('the log ended').waitFor();
    expect(await page.locator('#log .l').count()).toBe(evil.length);
    await browser.screenshot(page, 'logs-xss-log');
    expect(await ran()).toBe('undefined');

    await page.goto(`${server.url}/logs/${APP_ID}/1/stderr?grep=${encodeURIComponent('xss')}`);
    expect(await page.locator('#results .hit').count()).toBe(evil.length);
    expect(await ran()).toBe('undefined');
    await page.goto(`${server.url}/logs/${APP_ID}`);
    expect(await page.locator('#executor-1').innerText()).toContain('<script>window.__xss=7</script>');
    expect(await page.locator('#executor-1 .live').innerText()).toBe('live');
    expect(await ran()).toBe('undefined');
    await page.goto(`${server.url}/logs`);
    expect(await page.locator('#apps').innerText()).toContain('<img src=x onerror="window.__xss=6">');
    await browser.screenshot(page, 'logs-xss-apps');

    expect(await ran()).toBe('undefined');
    expect(browser.offHostRequests).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
