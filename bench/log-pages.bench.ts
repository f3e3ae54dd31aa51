// log-viewer's pages and search on one big compacted log (default 64 MiB of text, 1 gzip member
// per 4 MiB as compaction writes them) in a filesystem store, against the baseline of reading the
// whole log as text through the same route in the same run. Prints ms, MiB/s and ratios for: the
// last-64-KiB page (numbered lines: reads the text up to its window), a substring search and a
// regex search (whole log, grep -n output).
// `npm run bench -- log-pages --mb 256` to change the size.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { compactedKey } from '../functions/log-archiver/chunk-key.js';
import { META } from '../functions/log-archiver/object-metadata.js';
import { run } from '../functions/log-viewer/handler.js';
import { ManualClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { Metrics } from '../shared/metrics.js';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { streamToBuffer } from '../shared/store/read.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const MIB = 1024 * 1024;
const TEXT_BYTES = arg('mb', 64) * MIB;
const MEMBER_BYTES = 4 * MIB;
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
  while (total < TEXT_BYTES) {
    const l = line(lines++);
    text.push(l);
    size += l.length;
    total += l.length;
    if (size >= MEMBER_BYTES) {
      members.push(gzipSync(text.join(''), { level: 6 }));
      text = [];
      size = 0;
    }
  }
  if (text.length > 0) members.push(gzipSync(text.join(''), { level: 6 }));
  const body = Buffer.concat(members);
  await store.put(compactedKey(APP, '1', 'stderr'), body, { contentType: 'application/gzip', metadata: { [META.textBytes]: String(total), [META.lineCount]: String(lines), [META.offsetRanges]: `spark-logs:0:0-${lines - 1}` } });
  return { lines, gzipBytes: body.length };
}

async function timed(store: FileObjectStore, query: Record<string, string>, accept: string): Promise<{ ms: number; bytes: number }> {
  const deps = { store, clock: new ManualClock(), logger: silentLogger, metrics: new Metrics() };
  let best = Infinity;
  let bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    const started = performance.now();
    const result = await run({ kind: 'http', source: 'local', method: 'GET', path: LOG, query, headers: { accept }, body: Buffer.alloc(0) }, { ...deps, cluster: undefined }, { access: { kind: 'none' } });
    if (result.status !== 200) throw new Error(`${JSON.stringify(query)} answered ${result.status}: ${String(result.body)}`);
    const body = result.body;
    bytes = body instanceof Readable ? (await streamToBuffer(body)).length : Buffer.byteLength(body as string | Buffer);
    best = Math.min(best, performance.now() - started);
  }
  return { ms: best, bytes };
}

const dir = await mkdtemp(join(tmpdir(), 'log-pages-bench-'));
try {
  const store = new FileObjectStore(dir);
  const { lines, gzipBytes } = await seed(store);
  console.log(`log: ${(TEXT_BYTES / MIB).toFixed(0)} MiB of text, ${lines} lines, ${(gzipBytes / MIB).toFixed(1)} MiB gzip; best of ${RUNS}`);
  const baseline = await timed(store, {}, '*/*');
  const cases: [string, Record<string, string>, string][] = [
    ['last-64-KiB page (HTML)', {}, 'text/html'],
    ['search, substring', { grep: 'SocketTimeoutException', max: '5000' }, '*/*'],
    ['search, regex', { grep: 'ERROR .*timeout$', regex: '1', max: '5000' }, '*/*'],
  ];
  const mibps = (ms: number) => (TEXT_BYTES / MIB / (ms / 1000)).toFixed(0);
  console.log(`${'whole log as text (baseline)'.padEnd(30)} ${baseline.ms.toFixed(0).padStart(7)} ms  ${mibps(baseline.ms).padStart(5)} MiB/s  1.00×  (${(baseline.bytes / MIB).toFixed(0)} MiB out)`);
  for (const [name, query, accept] of cases) {
    const t = await timed(store, query, accept);
    console.log(`${name.padEnd(30)} ${t.ms.toFixed(0).padStart(7)} ms  ${mibps(t.ms).padStart(5)} MiB/s  ${(t.ms / baseline.ms).toFixed(2)}×  (${(t.bytes / 1024).toFixed(0)} KiB out)`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
