// log-viewer's pages and search on one big compacted log (default 64 MiB of text, 1 gzip member
// per MiB of text with log-archiver's member headers, and its index, as compaction writes them) in
// a filesystem store, against the baseline of reading the whole log as text through the same route
// in the same run. Prints ms, MiB/s, ratios and the object bytes read for: the last-64-KiB page
// through the index (only the members of its window) and without it (the text up to its window),
// a substring search and a regex search (whole log, grep -n output).
// `npm run bench -- log-pages --mb 256` to change the size.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { compactedKey } from '../functions/log-archiver/chunk-key.js';
import { MAX_MEMBER_TEXT_BYTES, withIndex } from '../functions/log-archiver/gzip-member.js';
import { logIndexKey, publishLogIndex } from '../functions/log-archiver/log-index.js';
import { META } from '../functions/log-archiver/object-metadata.js';
import { run } from '../functions/log-viewer/handler.js';
import { ManualClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { Metrics } from '../shared/metrics.js';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { streamToBuffer } from '../shared/store/read.js';
import { ByteCountingStore } from '../test/support/byte-counting-store.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const MIB = 1024 * 1024;
const TEXT_BYTES = arg('mb', 64) * MIB;
const MEMBER_BYTES = MAX_MEMBER_TEXT_BYTES;
const RUNS = 3;
const APP = 'spark-bench-pages';
const LOG = `/logs/${APP}/1/stderr`;

/** A Spark executor's stderr: INFO lines, an ERROR every 1000. */
function line(i: number): string {
  return i % 1000 === 999 ? `25/05/14 02:15:02 ERROR Executor: Exception in task ${i} java.net.SocketTimeoutException: timeout\n` : `25/05/14 02:15:02 INFO Executor: Running task ${i}.0 in stage 1.0 (TID ${i}) with 1 cores and ${i % 997} MiB\n`;
}

async function seed(store: FileObjectStore): Promise<{ lines: number; gzipBytes: number }> {
  const members: Buffer[] = [];
  let text: string[] = [];
  let size = 0;
  let total = 0;
  let lines = 0;
  // A member as compaction writes it: one Kafka record per line, the offsets and lengths in its header.
  const flush = () => {
    const first = lines - text.length;
    const index = { topic: 'spark-logs', partition: 0, offsets: text.map((_, i) => first + i), lengths: text.map((l) => l.length), firstTime: 0, lastTime: 0 };
    members.push(withIndex(index, gzipSync(text.join(''), { level: 6 }), size));
    text = [];
    size = 0;
  };
  while (total < TEXT_BYTES) {
    const l = line(lines++);
    if (size + l.length > MEMBER_BYTES) flush();
    text.push(l);
    size += l.length;
    total += l.length;
  }
  if (text.length > 0) flush();
  const body = Buffer.concat(members);
  await store.put(compactedKey(APP, '1', 'stderr'), body, { contentType: 'application/gzip', metadata: { [META.textBytes]: String(total), [META.lineCount]: String(lines), [META.offsetRanges]: `spark-logs:0:0-${lines - 1}` } });
  if (!(await publishLogIndex(store, compactedKey(APP, '1', 'stderr')))) throw new Error('the log could not be indexed');
  return { lines, gzipBytes: body.length };
}

async function timed(store: ByteCountingStore, query: Record<string, string>, accept: string): Promise<{ ms: number; bytes: number; read: number }> {
  const deps = { store, clock: new ManualClock(), logger: silentLogger, metrics: new Metrics() };
  let best = Infinity;
  let bytes = 0;
  let read = 0;
  for (let r = 0; r < RUNS; r++) {
    store.reset();
    const started = performance.now();
    const result = await run({ kind: 'http', source: 'local', method: 'GET', path: LOG, query, headers: { accept }, body: Buffer.alloc(0) }, { ...deps, cluster: undefined }, { access: { kind: 'none' } });
    if (result.status !== 200) throw new Error(`${JSON.stringify(query)} answered ${result.status}: ${String(result.body)}`);
    const body = result.body;
    bytes = body instanceof Readable ? (await streamToBuffer(body)).length : Buffer.byteLength(body as string | Buffer);
    best = Math.min(best, performance.now() - started);
    read = store.bytesRead(compactedKey(APP, '1', 'stderr'));
  }
  return { ms: best, bytes, read };
}

const dir = await mkdtemp(join(tmpdir(), 'log-pages-bench-'));
try {
  const fsStore = new FileObjectStore(dir);
  const store = new ByteCountingStore(fsStore);
  const { lines, gzipBytes } = await seed(fsStore);
  console.log(`log: ${(TEXT_BYTES / MIB).toFixed(0)} MiB of text, ${lines} lines, ${(gzipBytes / MIB).toFixed(1)} MiB gzip; best of ${RUNS}`);
  const baseline = await timed(store, {}, '*/*');
  const cases: [string, Record<string, string>, string][] = [
    ['last-64-KiB page, index', {}, 'text/html'],
    ['page at 1/4, index', { start: String(TEXT_BYTES / 4), end: String(TEXT_BYTES / 4 + 65535) }, 'text/html'],
    ['search, substring', { grep: 'SocketTimeoutException', max: '5000' }, '*/*'],
    ['search, regex', { grep: 'ERROR .*timeout$', regex: '1', max: '5000' }, '*/*'],
  ];
  const mibps = (ms: number) => (TEXT_BYTES / MIB / (ms / 1000)).toFixed(0);
  const share = (read: number) => `${((100 * read) / gzipBytes).toFixed(2)} % of the object read`;
  console.log(`${'whole log as text (baseline)'.padEnd(30)} ${baseline.ms.toFixed(0).padStart(7)} ms  ${mibps(baseline.ms).padStart(5)} MiB/s  1.00×  (${(baseline.bytes / MIB).toFixed(0)} MiB out, ${share(baseline.read)})`);
  const report = (name: string, t: { ms: number; bytes: number; read: number }) =>
    console.log(`${name.padEnd(30)} ${t.ms.toFixed(0).padStart(7)} ms  ${mibps(t.ms).padStart(5)} MiB/s  ${(t.ms / baseline.ms).toFixed(2)}×  (${(t.bytes / 1024).toFixed(0)} KiB out, ${share(t.read)})`);
  for (const [name, query, accept] of cases) report(name, await timed(store, query, accept));
  // The page as it was read before indexes: the text from the start up to its window.
  await fsStore.delete(logIndexKey(compactedKey(APP, '1', 'stderr')));
  report('last-64-KiB page, no index', await timed(store, {}, 'text/html'));
} finally {
  await rm(dir, { recursive: true, force: true });
}
