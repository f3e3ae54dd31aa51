import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type Io } from '../../app/cli/main.js';
import { startBrowser, type TestBrowser } from '../support/browser.js';
import { CURRENT_APPS, OUTSIDE_APPS, PERIOD, PREVIOUS_APPS, writePlans } from './report-fixtures.js';
import { EXAMPLE_PRICES, examplePrices, tempStore } from './support.js';

const LOGS = 'https://logs.example.com';

function io(env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t), env, stdin: process.stdin };
  return { value, out, err };
}

/** Serves the written pages on 127.0.0.1, the only host the test browser lets a page reach. */
async function servePages(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const name = /^\/([\w-]+\.html)$/.exec(req.url ?? '')?.[1];
    if (!name) return void res.writeHead(404).end();
    readFile(join(dir, name)).then(
      (body) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function writePage(env: Record<string, string>, out: string, args: string[]): Promise<void> {
  const cli = io(env);
  const code = await main(['node', 'sparkfn', 'cost', 'report', '--format', 'html', '--out', out, ...args], cli.value);
  expect(code, cli.err.join('')).toBe(0);
  expect(cli.out.join('')).toMatch(/^wrote .*\.html \(\d+ app\(s\), \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}\)\n$/);
}

/** How far the page is wider than the window (a string: it runs in the page, whose DOM types this project does not load). */
const SIDEWAYS_OVERFLOW = 'document.documentElement.scrollWidth - document.documentElement.clientWidth';

const texts = (page: Page | Locator, selector: string) => page.locator(selector).allInnerTexts();

let dir: string;
let pages: { server: Server; url: string };

beforeAll(async () => {
  const store = await tempStore();
  dir = store.url.replace('file://', '');
  await writePlans(store, [...CURRENT_APPS, ...PREVIOUS_APPS, ...OUTSIDE_APPS], await examplePrices());
  const env = { SPARKFN_STORE: store.url, SPARKFN_COST_PRICE_FILE: EXAMPLE_PRICES };
  await writePage(env, join(dir, 'report.html'), ['--from', PERIOD.from, '--to', PERIOD.to, '--by', 'label:team', '--logs-url', LOGS]);
  await writePage(env, join(dir, 'empty.html'), ['--from', '2025-06-01', '--to', '2025-06-07']);
  pages = await servePages(dir);
});

afterAll(async () => {
  await new Promise((resolve) => pages?.server.close(resolve));
});

describe.each([
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
])('cost report page at $width px', (viewport) => {
  let browser: TestBrowser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await startBrowser({ viewport });
    page = await browser.newPage();
    // A Content-Security-Policy that blocked the page's own script or style would say so here.
    page.on('console', (message) => void (message.type() === 'error' && pageErrors.push(message.text())));
    page.on('pageerror', (err) => void pageErrors.push(err.message));
    page.on('dialog', (dialog) => void pageErrors.push(`dialog: ${dialog.message()}`));
    await page.goto(`${pages.url}/report.html`);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the totals and the change against the period before', async () => {
    await browser.screenshot(page, `cost-report-${viewport.width}`);
    expect(await page.locator('h1').innerText()).toBe('Spark job cost, 2026-01-10 to 2026-01-16');
    // By hand (report-fixtures.ts): 21.8952 this period, 19.5696 expected, 4.32 the 7 days before.
    expect(await page.locator('#total').innerText()).toBe('CN¥21.90');
    expect(await page.locator('#expected').innerText()).toBe('CN¥19.57');
    expect(await page.locator('#change').innerText()).toBe('+406.8 % (+CN¥17.58) against 2026-01-03 to 2026-01-09: CN¥4.32');
    expect(await page.locator('#apps-count').innerText()).toBe('14');
    // Spot: 9 pod-hours at 0.432 on-demand against 0.1296 expected; one pod's limit of 0.3 an hour is its upper bound.
    expect(await page.locator('#saved').innerText()).toBe('CN¥2.72');
    expect(await page.locator('#savings').innerText()).toContain('would have cost CN¥3.89 on-demand');
    expect(await page.locator('#savings').innerText()).toContain('at least CN¥0.40');
    expect(await texts(page, '#cap-spot td')).toEqual(['9', 'CN¥3.49', 'CN¥1.17']);
    expect(await texts(page, '#cap-fallback td')).toEqual(['3', 'CN¥1.30', 'CN¥1.30']);
    expect(await texts(page, '#cap-unpriced td')).toEqual(['3', '\u2014', '\u2014']);
  });

  it('draws each day stacked by team with a legend, money ticks, ISO dates and the same figures as a table', async () => {
    const chart = page.locator('#daily-chart');
    expect(await chart.getAttribute('role')).toBe('img');
    expect(await page.locator('#daily-chart-title').textContent()).toBe('Cost per day by team, spot at its upper bound');
    expect(await texts(page, '.legend li')).toEqual(['bi', 'etl', 'ml', '<b>web</b>']);
    expect(await page.locator('#daily-chart .ytick').allTextContents()).toEqual(['CN¥0.00', 'CN¥2.00', 'CN¥4.00', 'CN¥6.00', 'CN¥8.00']);
    expect((await page.locator('#daily-chart .xtick').allTextContents()).every((t) => /^2026-01-1\d$/.test(t))).toBe(true);
    // 2026-01-12: etl-2 (3.024) + ml-1 (2.628) + bi-2 (0.9936) stacked.
    expect(await page.locator('#daily-chart rect title').allTextContents()).toEqual(expect.arrayContaining(['2026-01-12 · etl: CN¥3.02', '2026-01-12 · ml: CN¥2.63', '2026-01-12 · bi: CN¥0.99']));
    await page.locator('details summary').click();
    const day12 = page.locator('#daily-table tbody tr', { hasText: '2026-01-12' });
    expect(await texts(day12.first(), 'td')).toEqual(['CN¥0.99', 'CN¥3.02', 'CN¥2.63', 'CN¥0.00', 'CN¥6.65']);
  });

  it('lists the 10 costliest apps with their team, duration, executors and a link to their logs', async () => {
    const rows = page.locator('#top tbody tr');
    expect(await rows.count()).toBe(10);
    expect(await texts(rows.first(), 'td')).toEqual(['1', 'nightly-etl\nspark-etl-1', 'etl', '2 h', '4', 'CN¥3.89', 'logs']);
    const ids = await page.locator('#top tbody tr td:nth-child(2) code').allTextContents();
    expect(ids).toEqual(['spark-etl-1', 'spark-etl-2', 'spark-ml-1', 'spark-bi-7', 'spark-bi-6', 'spark-bi-5', 'spark-bi-4', 'spark-bi-3', 'spark-bi-2', 'spark-ml-2']);
    expect(await page.locator('#top tbody tr td:nth-child(6)').allInnerTexts()).toEqual(['CN¥3.89', 'CN¥3.02', 'CN¥2.63', 'CN¥2.29', 'CN¥2.03', 'CN¥1.77', 'CN¥1.51', 'CN¥1.25', 'CN¥0.99', 'CN¥0.86']);
    const links = await page.locator('#top tbody a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(links).toEqual(ids.map((id) => `${LOGS}/logs/${id}`));
    expect(await page.getByRole('link', { name: 'logs of spark-ml-2' }).getAttribute('href')).toBe(`${LOGS}/logs/spark-ml-2`);
  });

  it('says which records are upper bounds, incomplete or unpriced, and why', async () => {
    expect(await page.locator('#flagged-count').innerText()).toBe('5');
    const rows = await texts(page, '#flagged-table tbody tr');
    expect(rows).toHaveLength(5);
    const why = (id: string) => rows.find((r) => r.includes(id)) ?? '';
    expect(why('spark-etl-2')).toMatch(/upper-bound spot money is at its upper bound, CN¥2\.59; at the expected spot price it is CN¥0\.78/);
    expect(why('spark-ml-1')).toMatch(/upper-bound/);
    expect(why('spark-ml-2')).toMatch(/incomplete the event log stops before the app ended/);
    expect(why('spark-etl-3')).toMatch(/unpriced Executor 1: no price for instance spec ecs\.unknown9\.large/);
    expect(why('spark-web-1')).toMatch(/unpriced No price file is configured/);
  });

  it('escapes names from labels: no markup and no script of theirs runs', async () => {
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.locator('main b').count()).toBe(0);
    expect(await page.locator('#apps tbody tr', { hasText: 'spark-web-1' }).innerText()).toContain('<script>alert(1)</script>');
  });

  it('sorts the table by a column when its header is clicked or pressed, and says so with aria-sort', async () => {
    const cost = page.locator('#apps thead th', { hasText: 'cost' }).first();
    expect(await cost.getAttribute('aria-sort')).toBe('descending');
    const firstIds = async () => (await page.locator('#apps tbody tr td:nth-child(3) code').allTextContents()).slice(0, 3);
    expect(await firstIds()).toEqual(['spark-etl-1', 'spark-etl-2', 'spark-ml-1']);
    await cost.locator('button').click();
    expect(await cost.getAttribute('aria-sort')).toBe('ascending');
    expect(await firstIds()).toEqual(['spark-web-1', 'spark-etl-3', 'spark-bi-0']);
    await cost.locator('button').click();
    expect(await firstIds()).toEqual(['spark-etl-1', 'spark-etl-2', 'spark-ml-1']);

    const team = page.locator('#apps thead th', { hasText: 'team' });
    await team.locator('button').focus();
    await page.keyboard.press('Enter');
    expect(await team.getAttribute('aria-sort')).toBe('ascending');
    expect(await cost.getAttribute('aria-sort')).toBeNull();
    const teams = await page.locator('#apps tbody tr td:nth-child(4)').allTextContents();
    expect(teams).toEqual([...teams].sort((a, b) => a.localeCompare(b)));
    expect(new Set(teams)).toEqual(new Set(['bi', 'etl', 'ml', '<b>web</b>']));
    expect(await page.locator('#sort-status').innerText()).toBe('Sorted by team, ascending.');
  });

  it('downloads the same rows as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
    expect(download.suggestedFilename()).toBe('spark-cost-2026-01-10-to-2026-01-16.csv');
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('day,namespace,appId,appName,team,start,end,durationSeconds,executors,vcpuSeconds,gibSeconds,total,expected,onDemand,spot,spotExpected,currency,flags');
    const tableIds = await page.locator('#apps tbody tr td:nth-child(3) code').allTextContents();
    expect(lines.slice(1).map((l) => l.split(',')[2]).sort()).toEqual([...tableIds].sort());
    expect(lines).toContain('2026-01-10,spark-jobs,spark-etl-1,nightly-etl,etl,2026-01-10T10:00:00.000Z,2026-01-10T12:00:00.000Z,7200,4,64800,129600,3.888,3.888,3.888,0,0,CNY,');
    expect(lines.find((l) => l.includes('spark-ml-1'))).toMatch(/,2\.628,2\.1168,1\.728,0\.9,0\.3888,CNY,upper-bound$/);
  });

  it('needs no network, raises no error, and fits the width without scrolling sideways', async () => {
    expect(browser.offHostRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
    const overflow = await page.evaluate<number>(SIDEWAYS_OVERFLOW);
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('says clearly when the period has no records, and which period was asked', async () => {
    const empty = await browser.newPage();
    await empty.goto(`${pages.url}/empty.html`);
    await browser.screenshot(empty, `cost-report-empty-${viewport.width}`);
    expect(await empty.locator('#empty').innerText()).toMatch(/^No cost records from 2025-06-01 to 2025-06-07\./);
    expect(await empty.locator('table').count()).toBe(0);
    expect(await empty.evaluate<number>(SIDEWAYS_OVERFLOW)).toBeLessThanOrEqual(0);
    expect(browser.offHostRequests).toEqual([]);
  });
});
