import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ansiToHtml, escapeHtml } from '../../functions/log-viewer/html/escape.js';
import { wantsHtml } from '../../functions/log-viewer/html/negotiate.js';
import { DEFAULT_WINDOW_BYTES, readWindow } from '../../functions/log-viewer/log-window.js';
import type { RecentApps } from '../../functions/log-viewer/recent-apps.js';
import { RECENT_APPS_PAGE_SIZE } from '../../functions/log-viewer/recent-apps.js';
import { regexProblem } from '../../functions/log-viewer/search-query.js';
import type { RunningServer } from '../../shared/http/server.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import { APP_ID, tempStore } from '../log-archiver/support.js';
import { BROWSER_ACCEPT, archiveLines, setWritten, startViewer } from './pages-support.js';

let store: FileObjectStore;
let cleanup: () => Promise<void>;
let server: RunningServer;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  server = await startViewer(store);
});
afterEach(async () => {
  await server.close(0);
  await cleanup();
});

const LOG = `/logs/${APP_ID}/1/stderr`;
const page = (path: string) => fetch(`${server.url}${path}`, { headers: { accept: BROWSER_ACCEPT } });
/** Every `<tag` in a page outside the page's own markup: the lines of a log must never add one. */
const tagsIn = (html: string, tag: string) => (html.match(new RegExp(`<${tag}[\\s>]`, 'gi')) ?? []).length;

/** The visible lines of a log page as [number, text] pairs. */
function shownLines(html: string): [number, string][] {
  return [...html.matchAll(/<span class="l[^"]*"(?: id="L\d+")?><span class="n">(\d+)<\/span>(.*?)<\/span>(?=<span class="l|<\/pre>)/g)].map((m) => [Number(m[1]), m[2] as string]);
}

describe('log-viewer pages', () => {
  it('gives browsers pages and curl, fetch and Spark’s links the text and JSON they had', async () => {
    await archiveLines(store, ['first line', 'second line'], { appId: APP_ID });
    for (const accept of [undefined, '*/*', 'text/plain', 'application/json']) {
      const res = await fetch(`${server.url}${LOG}`, accept ? { headers: { accept } } : {});
      expect(res.headers.get('content-type'), `Accept: ${accept}`).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toBe('first line\nsecond line\n');
      const app = await fetch(`${server.url}/logs/${APP_ID}`, accept ? { headers: { accept } } : {});
      expect(app.headers.get('content-type')).toMatch(/^application\/json/);
      expect(JSON.parse(await app.text())).toMatchObject({ appId: APP_ID, namespace: 'spark-jobs', executors: [{ executorId: '1' }] });
    }
    const html = await page(LOG);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = html.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/^default-src 'none'; script-src 'nonce-[A-Za-z0-9+/=]{24}'; style-src 'nonce-/);
    expect(csp).toContain("connect-src 'self'");
    expect(html.headers.get('cache-control')).toBe('no-store');
    expect(shownLines(await html.text())).toEqual([[1, 'first line'], [2, 'second line']]);
    // A browser can still have the text, and downloads stay gzip.
    expect(await (await page(`${LOG}?format=text`)).text()).toBe('first line\nsecond line\n');
    expect((await page(`${LOG}?download=1`)).headers.get('content-type')).toBe('application/gzip');
    // Errors are pages for people, JSON for tools.
    const missing = await page(`/logs/${APP_ID}/9/stderr`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Nothing is archived for executor 9');
    expect((await fetch(`${server.url}/logs/${APP_ID}/9/stderr`)).headers.get('content-type')).toMatch(/^application\/json/);
  });

  it.each([
    ['text/html,application/xhtml+xml,*/*;q=0.8', {}, true],
    ['application/xhtml+xml', {}, true],
    ['*/*', {}, false],
    ['', {}, false],
    ['text/plain, text/html', {}, false],
    [BROWSER_ACCEPT, { format: 'text' }, false],
    ['*/*', { format: 'html' }, true],
  ])('Accept %j with %j wants HTML: %s', (accept, query, expected) => {
    expect(wantsHtml(accept ? { accept } : {}, query)).toBe(expected);
  });

  it('escapes log text everywhere and renders ANSI colours as spans', async () => {
    const evil = [
      '<script>window.__xss=1</script>',
      '<img src=x onerror="window.__xss=2">',
      '" onerror="window.__xss=3" x="',
      "' autofocus onfocus='window.__xss=4",
      '\u001b[31mERROR\u001b[0m plain \u001b[1;32mbold green\u001b[0m',
      '\u001b]0;set the title\u0007after a title escape \u001b[2Kcleared',
      'a bell \u0007 and a NUL \u0000 byte',
    ];
    await archiveLines(store, evil, { appId: APP_ID, appName: '<b>app</b>' });
    const html = await (await page(LOG)).text();
    expect(tagsIn(html, 'script')).toBe(0);
    expect(tagsIn(html, 'img')).toBe(0);
    expect(html).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    const lines = shownLines(html).map(([, t]) => t);
    expect(lines).toEqual([
      '&lt;script&gt;window.__xss=1&lt;/script&gt;',
      '&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;',
      '&quot; onerror=&quot;window.__xss=3&quot; x=&quot;',
      '&#39; autofocus onfocus=&#39;window.__xss=4',
      '<span class="a-fg1">ERROR</span> plain <span class="a-fg2 a-b">bold green</span>',
      'after a title escape cleared',
      'a bell  and a NUL  byte',
    ]);
    // The app name from the archive's metadata is escaped on the app page too.
    const app = await (await page(`/logs/${APP_ID}`)).text();
    expect(app).not.toContain('<b>app</b>');
    // A search echoes the pattern into the form, escaped.
    const search = await (await page(`${LOG}?grep=${encodeURIComponent('"><script>window.__xss=5</script>')}`)).text();
    expect(tagsIn(search, 'script')).toBe(0);
    expect(search).toContain('value="&quot;&gt;&lt;script&gt;window.__xss=5&lt;/script&gt;"');
  });

  it.each([
    ['plain', 'plain'],
    ['<&>"\'', '&lt;&amp;&gt;&quot;&#39;'],
    ['\u001b[31mred\u001b[39m not', '<span class="a-fg1">red</span> not'],
    ['\u001b[91;1mbright\u001b[22m still red\u001b[0m', '<span class="a-fg9 a-b">bright</span><span class="a-fg9"> still red</span>'],
    ['\u001b[31m<x>\u001b[0m', '<span class="a-fg1">&lt;x&gt;</span>'],
    ['\u001b[31mnever reset', '<span class="a-fg1">never reset</span>'],
    ['\u001b[38;5;196mextended colours are dropped', 'extended colours are dropped'],
  ])('ansiToHtml(%j)', (line, html) => {
    expect(ansiToHtml(line)).toBe(html);
    expect(escapeHtml(line.replace(/\u001b\[[0-9;]*m/g, ''))).toBe(html.replace(/<\/?span[^>]*>/g, ''));
  });

  it('shows the last 64 KiB first with true line numbers, and "earlier" pages back to line 1 without gaps or repeats', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i + 1} ${'x'.repeat(i % 97)}`);
    await archiveLines(store, lines.slice(0, 1800), { appId: APP_ID });
    await archiveLines(store, lines.slice(1800), { appId: APP_ID, firstOffset: 1800 });
    let html = await (await page(LOG)).text();
    let shown = shownLines(html);
    expect(shown.at(-1)).toEqual([3000, lines[2999]]);
    const bytes = shown.reduce((n, [, t]) => n + Buffer.byteLength(t) + 1, 0);
    expect(bytes).toBeLessThanOrEqual(DEFAULT_WINDOW_BYTES);
    expect(bytes).toBeGreaterThan(DEFAULT_WINDOW_BYTES - 200);
    const seen = new Map<number, string>(shown);
    let pages = 1;
    for (;; pages++) {
      const href = /<a href="([^"]+)" id="earlier"/.exec(html)?.[1];
      if (!href) break;
      expect(pages).toBeLessThan(20);
      html = await (await page(href.replace(/&amp;/g, '&'))).text();
      shown = shownLines(html);
      const firstAfter = Math.min(...seen.keys());
      expect(shown.at(-1)?.[0], `page ${pages} ends where the next began`).toBe(firstAfter - 1);
      for (const [n, t] of shown) seen.set(n, t);
    }
    expect(pages).toBeGreaterThan(2);
    expect(html).toContain('start of log');
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(lines.map((_, i) => i + 1));
    for (const [n, t] of seen) expect(t).toBe(lines[n - 1]);
  });

  it('reads a window: whole lines, numbered from the start of the log, across pieces', async () => {
    const text = 'one\ntwo\nthree\nfour\n';
    const pieces = async function* () {
      for (let i = 0; i < text.length; i += 3) yield Buffer.from(text.slice(i, i + 3));
    };
    expect(await readWindow(pieces(), 0, 7)).toEqual({ start: 0, end: 7, firstLine: 1, lines: ['one', 'two'] });
    // Starts inside "two" (cut lines belong to the page before), ends inside "three" (completed).
    expect(await readWindow(pieces(), 5, 9)).toEqual({ start: 8, end: 13, firstLine: 3, lines: ['three'] });
    expect(await readWindow(pieces(), 14, 100)).toEqual({ start: 14, end: 18, firstLine: 4, lines: ['four'] });
  });

  it('searches server-side: substrings and regexes with context and line numbers, as text, JSON and a page', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => (i % 10 === 4 ? `ERROR task ${i + 1} failed` : i === 30 ? `WARN \u001b[33mslow\u001b[0m disk` : `INFO line ${i + 1}`));
    await archiveLines(store, lines, { appId: APP_ID });
    const text = await (await fetch(`${server.url}${LOG}?grep=ERROR&context=1`)).text();
    expect(text).toBe(
      ['4-INFO line 4\n5:ERROR task 5 failed\n6-INFO line 6\n', '14-INFO line 14\n15:ERROR task 15 failed\n16-INFO line 16\n', '24-INFO line 24\n25:ERROR task 25 failed\n26-INFO line 26\n', '34-INFO line 34\n35:ERROR task 35 failed\n36-INFO line 36\n'].join('--\n'),
    );
    const json = (await (await fetch(`${server.url}${LOG}?grep=${encodeURIComponent('^(ERROR|WARN) .*(5|slow)')}&regex=1&format=json`)).json()) as { matches: number; hunks: { n: number; text: string; match: boolean }[][] };
    expect(json.matches).toBe(5);
    expect(json.hunks.flat().map((l) => l.n)).toEqual([5, 15, 25, 31, 35]);
    expect(json.hunks.flat()[3]?.text).toBe('WARN slow disk');
    const capped = (await (await fetch(`${server.url}${LOG}?grep=error&ignoreCase=1&max=2&format=json`)).json()) as { matches: number; truncated: string };
    expect(capped).toMatchObject({ matches: 2, truncated: 'max-matches' });
    const html = await (await page(`${LOG}?grep=task+15&context=0`)).text();
    expect(html).toContain('<span class="l hit"><span class="n">15</span>ERROR task 15 failed</span>');
    expect(html).toContain('1 matching lines in 40 lines searched.');
  });

  it('refuses a regex that could backtrack catastrophically, and malformed searches, with 400 before reading the log', async () => {
    await archiveLines(store, ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'], { appId: APP_ID });
    for (const [query, reason] of [
      [`grep=${encodeURIComponent('(a+)+$')}&regex=1`, 'unsafe-regex'],
      [`grep=${encodeURIComponent('(a|aa)*$')}&regex=1`, 'unsafe-regex'],
      [`grep=${encodeURIComponent('(x)\\1')}&regex=1`, 'unsafe-regex'],
      [`grep=${encodeURIComponent('([)')}&regex=1`, 'invalid-query'],
      ['grep=', 'invalid-query'],
      ['grep=a&context=99', 'invalid-query'],
      ['grep=a&tail=5', 'invalid-query'],
    ]) {
      const res = await fetch(`${server.url}${LOG}?${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { reason: string } }).error.reason, query).toBe(reason);
    }
  });

  it.each([
    ['(a+)+', 'repeats a group'],
    ['(?:a*b?)*c', 'repeats a group'],
    ['((ab)+c)+', 'repeats a group'],
    ['(a|b)+', 'repeats a group'],
    ['(?=a)', 'lookaround'],
    ['(?<x>a)\\k<x>', 'backreference'],
    ['.*a.*b.*c.*d', 'unbounded quantifiers'],
    ['ERROR.*timeout', undefined],
    ['(ERROR|WARN) [a-z]+', undefined],
    ['\\(a+\\)+', undefined],
    ['[(a+)]+', undefined],
    ['a{2,5}(bc)+d?', undefined],
    ['(ab)+?x', undefined],
  ])('regexProblem(%j) mentions %j', (pattern, problem) => {
    const found = regexProblem(pattern);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it('lists recent apps newest first, paged, with namespace and name, as JSON and as a page', async () => {
    const ids = Array.from({ length: RECENT_APPS_PAGE_SIZE + 3 }, (_, i) => `spark-${String(i).padStart(4, '0')}`);
    for (const [i, appId] of ids.entries()) {
      await archiveLines(store, [`hello from ${appId}`], { appId, namespace: i % 2 === 0 ? 'team-a' : 'team-b', appName: `job-${i}`, firstOffset: i });
      await setWritten(store, appId, new Date(Date.UTC(2026, 0, 1, 0, i)));
    }
    const first = (await (await fetch(`${server.url}/logs`)).json()) as RecentApps;
    expect(first).toMatchObject({ page: 1, more: true, complete: true });
    expect(first.apps.map((a) => a.appId)).toEqual([...ids].reverse().slice(0, RECENT_APPS_PAGE_SIZE));
    expect(first.apps[0]).toMatchObject({ appId: ids.at(-1), namespace: 'team-a', appName: `job-${ids.length - 1}`, path: `/logs/${ids.at(-1)}`, lastWritten: '2026-01-01T00:52:00.000Z' });
    const second = (await (await fetch(`${server.url}/logs/?page=2`)).json()) as RecentApps;
    expect(second.apps.map((a) => a.appId)).toEqual(['spark-0002', 'spark-0001', 'spark-0000']);
    expect(second.more).toBe(false);
    const teamB = (await (await fetch(`${server.url}/logs?namespace=team-b`)).json()) as RecentApps;
    expect(teamB.apps.every((a) => a.namespace === 'team-b')).toBe(true);
    expect(teamB.apps).toHaveLength(26);
    const html = await (await page('/logs')).text();
    expect(html).toContain(`<a href="/logs/${ids.at(-1)}">${ids.at(-1)}</a>`);
    expect(html).toContain('<a href="/logs?page=2" rel="next">');
    expect((await fetch(`${server.url}/logs?page=0`)).status).toBe(400);
  });

  it('shows the app page: driver first, both streams of every executor with sizes, times and pods', async () => {
    await archiveLines(store, ['driver says hi'], { appId: APP_ID, executorId: 'driver', stream: 'stdout' });
    await archiveLines(store, ['exec 2 err'], { appId: APP_ID, executorId: '2', firstOffset: 10 });
    await archiveLines(store, ['exec 10 out'], { appId: APP_ID, executorId: '10', stream: 'stdout', firstOffset: 20 });
    const html = await (await page(`/logs/${APP_ID}`)).text();
    const rows = [...html.matchAll(/<tr id="executor-([^"]+)">(.*?)<\/tr>/g)];
    expect(rows.map((r) => r[1])).toEqual(['driver', '2', '10']);
    const driver = rows[0]![2]!;
    expect(driver).toContain('<td class="archived">archived</td><td>etl-orders-daily-driver</td>');
    expect(driver).toContain(`<a href="/logs/${APP_ID}/driver/stdout" class="stream-stdout">stdout</a> <span class="muted">`);
    expect(driver).toMatch(/stdout<\/a> <span class="muted">\d+ B<\/span>/);
    expect(driver).toContain(`<a href="/logs/${APP_ID}/driver/stderr" class="stream-stderr">stderr</a> <span class="muted">empty</span>`);
    expect(driver).toContain('2025-05-14 02:15:02Z');
  });
});
