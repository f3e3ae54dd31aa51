import fc from 'fast-check';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compactedKey } from '../../functions/log-archiver/chunk-key.js';
import { compactApp, run as archiverRun } from '../../functions/log-archiver/handler.js';
import { logIndexKey, readLogIndex } from '../../functions/log-archiver/log-index.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import { run } from '../../functions/log-viewer/handler.js';
import { openIndexedLog, walkTimeRange } from '../../functions/log-viewer/indexed-log.js';
import { searchLog } from '../../functions/log-viewer/log-search.js';
import { parseSearchQuery } from '../../functions/log-viewer/search-query.js';
import { findLog, type LogSources, logText, textSize } from '../../functions/log-viewer/log-sources.js';
import { readLogWindow, readWindow } from '../../functions/log-viewer/log-window.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { streamToBuffer } from '../../shared/store/read.js';
import { ByteCountingStore } from '../support/byte-counting-store.js';
import { APP_ID, batch, depsFor, executorLine, record, tempStore } from '../log-archiver/support.js';

let store: FileObjectStore;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
});
afterEach(async () => cleanup());

const OBJECT = compactedKey(APP_ID, '1', 'stderr');
const T0 = Date.UTC(2025, 4, 14, 2, 0);

/** Executor 1's stderr record at `offset`: one line, a stack trace over several, or a long line. */
function line(offset: number, partition = 0) {
  const shape = offset % 5;
  const message =
    shape === 0
      ? `ERROR Executor: task ${offset} failed\n\tat org.apache.spark.scheduler.Task.run(Task.scala:${offset})\n\tat java.lang.Thread.run(Thread.java:750)`
      : shape === 1
        ? `ümlaut ✓ line ${offset} of p${partition}`
        : shape === 2
          ? `long ${offset} ${'x'.repeat(150)}`
          : `INFO Executor: Running task ${offset}.0 in stage 1.0`;
  return record(offset, executorLine(message, { time: T0 + offset * 60_000 }), { partition });
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function sources(s: ObjectStore): Promise<LogSources> {
  const found = await findLog(s, APP_ID, '1', 'stderr');
  if ('missing' in found) throw new Error('no log');
  return found;
}

/** The log page as a browser gets it, its per-response nonce masked. */
async function page(s: ObjectStore, query: Record<string, string>): Promise<string> {
  const result = await run({ kind: 'http', source: 'local', method: 'GET', path: `/logs/${APP_ID}/1/stderr`, query, headers: { accept: 'text/html' }, body: Buffer.alloc(0) }, depsFor(s));
  expect(result.status).toBe(200);
  const body = result.body;
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString() : (await streamToBuffer(body as Readable)).toString();
  return text.replace(/nonce="[^"]*"/g, 'nonce=""');
}

describe('the log page through the log index', () => {
  it('gives the windows (line numbers, text, bounds) the full read gives, on random logs, with and without the index', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('batch' as const), partition: fc.constantFrom(0, 0, 1), from: fc.nat(60), length: fc.integer({ min: 1, max: 30 }) }),
      fc.constant({ kind: 'compact' as const }),
    );
    let served = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(80, 300, undefined),
        fc.array(fc.tuple(fc.nat(12000), fc.nat(3000)), { minLength: 1, maxLength: 6 }),
        async (steps, maxMemberTextBytes, windows) => {
          const { store: s, cleanup: done } = await tempStore();
          try {
            const settings = maxMemberTextBytes ? { maxMemberTextBytes } : {};
            const first = { kind: 'batch' as const, partition: 0, from: 0, length: 5 };
            // A late batch after the last compaction: chunks after the object, which the index merges in.
            for (const st of [first, ...steps, { kind: 'compact' as const }, ...steps.filter((x) => x.kind === 'batch').slice(0, 1).map((x) => ({ ...x, from: x.from + 40 }))]) {
              if (st.kind === 'compact') await compactApp(APP_ID, depsFor(s), DEFAULT_SETTINGS);
              else await archiverRun(batch(range(st.from, st.from + st.length).map((o) => line(o, st.partition))), depsFor(s), settings);
            }
            const src = await sources(s);
            const size = await textSize(s, src);
            if (await openIndexedLog(s, src)) served++;
            const cases: [number, number][] = [[0, size - 1], [Math.max(0, size - 700), size - 1], ...windows.map(([a, len]): [number, number] => [Math.min(a, size - 1), Math.min(a + len, size - 1)])];
            for (const [start, end] of cases) {
              const expected = await readWindow(logText(s, src), start, end);
              expect(await readLogWindow(s, src, start, end), `window ${start}-${end} of ${size}`).toEqual(expected);
            }
            // The pages themselves (numbers, text, earlier/later links), with the index and without.
            const queries = [{}, ...cases.slice(2).map(([a, b]) => ({ start: String(a), end: String(b) }))];
            const withIndex = await Promise.all(queries.map((q) => page(s, q)));
            await s.delete(logIndexKey(OBJECT));
            expect(await openIndexedLog(s, src)).toBeUndefined();
            for (const [i, q] of queries.entries()) expect(await page(s, q)).toBe(withIndex[i]);
          } finally {
            await done();
          }
        },
      ),
      { numRuns: 40 },
    );
    expect(served).toBeGreaterThan(20);
  });

  it('reads a small part of a big multi-member log for its last page', async () => {
    await archiverRun(batch(range(0, 20_000).map((o) => line(o))), depsFor(store), { maxMemberTextBytes: 16 * 1024 });
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const index = (await readLogIndex(store, OBJECT))!;
    expect(index.members.length).toBeGreaterThan(40);
    const counted = new ByteCountingStore(store);
    const html = await page(counted, {});
    const read = counted.bytesRead(OBJECT);
    expect(read).toBeGreaterThan(0);
    expect(read, `${read} of ${index.object.size} bytes`).toBeLessThan(index.object.size / 10);
    // The index read once, the object with one ranged GET.
    expect(counted.gets.filter((g) => g.key === logIndexKey(OBJECT))).toHaveLength(1);
    expect(counted.gets.filter((g) => g.key === OBJECT).map((g) => g.range !== undefined)).toEqual([true]);
    // And the page is the one the full read gives (line numbers from the start of the log).
    await store.delete(logIndexKey(OBJECT));
    counted.reset();
    expect(await page(counted, {})).toBe(html);
    expect(counted.bytesRead(OBJECT)).toBe(index.object.size);
  });
});

describe('search over a time range', () => {
  async function search(s: ObjectStore, query: Record<string, string>) {
    const result = await run({ kind: 'http', source: 'local', method: 'GET', path: `/logs/${APP_ID}/1/stderr`, query: { format: 'json', ...query }, headers: {}, body: Buffer.alloc(0) }, depsFor(s));
    const body = result.body;
    const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString() : (await streamToBuffer(body as Readable)).toString();
    return { status: result.status, json: JSON.parse(text) };
  }

  it('searches only the members whose event times overlap ?from=&to=, reading only those, with or without the index', async () => {
    await archiverRun(batch(range(0, 400).map((o) => line(o))), depsFor(store), { maxMemberTextBytes: 300 });
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const index = (await readLogIndex(store, OBJECT))!;
    const from = new Date(T0 + 100 * 60_000).toISOString();
    const to = new Date(T0 + 120 * 60_000).toISOString();
    const query = { grep: 'Running task', from, to };
    const wanted = { from: T0 + 100 * 60_000, to: T0 + 120 * 60_000 };
    // What the full walk of the members gives, searched the same way.
    const expected = await searchLog(walkTimeRange(store, await sources(store), wanted), parseSearchQuery(query)!);
    const counted = new ByteCountingStore(store);
    const got = await search(counted, query);
    expect(got.status).toBe(200);
    expect(got.json).toEqual(JSON.parse(JSON.stringify(expected)));
    const texts: string[] = got.json.hunks.flat().filter((l: { match: boolean }) => l.match).map((l: { text: string }) => l.text);
    expect(texts.some((t) => t.includes('Running task 113.0'))).toBe(true);
    // Member granularity: a few records either side at most, nothing far outside the range.
    const tasks = texts.map((t) => Number(/task (\d+)/.exec(t)?.[1]));
    expect(tasks.every((n) => n >= 90 && n <= 130), tasks.join(' ')).toBe(true);
    const needed = index.members.filter((m) => m.lastTime >= wanted.from && m.firstTime <= wanted.to);
    expect(counted.bytesRead(OBJECT)).toBe(needed.reduce((n, m) => n + m.length, 0));
    expect(needed.length).toBeLessThan(index.members.length / 5);
    // As a page: the range echoed in the form (escaped) and said in the summary.
    const html = await page(store, query);
    expect(html).toContain(`name="from" id="from" size="22" placeholder="2025-05-14T02:15:00Z" value="${from}"`);
    expect(html).toMatch(/id="search-summary">\d+ matching lines in \d+ lines searched\. Searched: the archived members with event times from /);
    expect(html).toContain('Running task 113.0');
    // Without the index: the same answer.
    await store.delete(logIndexKey(OBJECT));
    expect((await search(store, query)).json).toEqual(got.json);
    // Only a start: everything from it on.
    const open = await search(store, { grep: 'Running task 39', from: new Date(T0 + 300 * 60_000).toISOString() });
    expect(open.json.matches).toBe(4); // 393, 394, 398, 399: not 39 itself, long before
  });

  it('refuses bad times with 400 invalid-query', async () => {
    await archiverRun(batch(range(0, 10).map((o) => line(o))), depsFor(store), {});
    for (const times of [{ from: 'yesterday' }, { to: '2025-05-14' }, { from: '2025-05-14T02:15:00' }, { from: '2025-13-40T99:00:00Z' }, { from: '2025-05-14T03:00:00Z', to: '2025-05-14T02:00:00Z' }] as Record<string, string>[]) {
      const got = await search(store, { grep: 'task', ...times });
      expect(got.status, JSON.stringify(times)).toBe(400);
      expect(got.json).toMatchObject({ error: { reason: 'invalid-query' } });
    }
    expect((await search(store, { grep: 'task', from: '2025-05-14T04:15:00.250+02:00' })).status).toBe(200);
  });
});
