// log-tail: `?tail=1000` through log-viewer's handler on a compacted log of more than 2 GB of text
// (realistic Spark log4j2 lines in gzip members of up to 1 MiB, as log-archiver writes them),
// read through the log index, against a baseline in the same run: the same request without the
// index, which is the old path (decompress the whole object, keep the last lines). Prints both
// times, the bytes each read from the store (counted as the store returned them) against the
// object's size, and the ratios. Goals (issue #18): under 0.5 s, under 1 % of the object's bytes.
//
// The log is written straight into a filesystem store, member by member, without Kafka: 16
// distinct member texts are generated and deflated once, then repeated under fresh Kafka offsets
// and event times (a member's header is rewritten, its deflate data reused), so generating 2 GB
// takes seconds. The index is then built as compaction builds it (the object read back whole).
// `npm run bench log-tail -- --gb 4 --dir /data --tail 1000` to change the size, folder or tail.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { compactedKey } from '../functions/log-archiver/chunk-key.js';
import { MAX_MEMBER_TEXT_BYTES, type MemberIndex, withIndex } from '../functions/log-archiver/gzip-member.js';
import { logIndexKey, publishLogIndex } from '../functions/log-archiver/log-index.js';
import { META } from '../functions/log-archiver/object-metadata.js';
import { run } from '../functions/log-viewer/handler.js';
import { ManualClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { Metrics } from '../shared/metrics.js';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { streamToBuffer } from '../shared/store/read.js';
import { seededRandom } from '../test/support/apiserver/rng.js';
import { ByteCountingStore } from '../test/support/byte-counting-store.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const TEXT_BYTES = arg('gb', 2) * 1e9 * 1.02; // a margin above 2 GB
const TAIL = arg('tail', 1000);
const DIR = (() => {
  const i = process.argv.indexOf('--dir');
  return i >= 0 ? (process.argv[i + 1] as string) : tmpdir();
})();
const POOL = 16;
const RUNS = 5;
const GOAL_SECONDS = 0.5;
const GOAL_FRACTION = 0.01;
const APP_ID = 'spark-0b5e7c1d9a8f4e3b2c1d0e9f8a7b6c5d';
const TOPIC = 'spark-logs';
const T0 = Date.UTC(2025, 4, 14, 2, 0);

const CLASSES = ['Executor', 'BlockManager', 'TaskSetManager', 'ShuffleBlockFetcherIterator', 'MemoryStore', 'CodeGenerator', 'TorrentBroadcast', 'MapOutputTrackerWorker', 'TransportClientFactory', 'FileScanRDD'];
const TABLES = ['orders', 'order_items', 'customers', 'payments', 'shipments', 'sessions'];

/** A Spark log4j2 line (with a stack trace now and then), newline-terminated as archived. */
function sparkEntry(r: () => number, i: number): string {
  const n = (max: number) => Math.floor(r() * max);
  const ts = `25/05/14 ${String(2 + n(3)).padStart(2, '0')}:${String(n(60)).padStart(2, '0')}:${String(n(60)).padStart(2, '0')}`;
  const cls = CLASSES[n(CLASSES.length)]!;
  switch (n(8)) {
    case 0:
      return `${ts} INFO ${cls}: Running task ${n(2000)}.0 in stage ${n(40)}.0 (TID ${i})\n`;
    case 1:
      return `${ts} INFO ${cls}: Finished task ${n(2000)}.0 in stage ${n(40)}.0 (TID ${i}). ${n(9000) + 1000} bytes result sent to driver\n`;
    case 2:
      return `${ts} INFO ${cls}: Reading File path: oss://datalake-prod/warehouse/${TABLES[n(6)]}/dt=2025-05-${String(1 + n(14)).padStart(2, '0')}/part-${String(n(1000)).padStart(5, '0')}-${n(1e9).toString(16)}-c000.snappy.parquet, range: 0-${n(1e8)}, partition values: [empty row]\n`;
    case 3:
      return `${ts} INFO ${cls}: Getting ${n(200)} (${n(900)}.${n(10)} KiB) non-empty blocks including ${n(50)} (${n(300)}.${n(10)} KiB) local and 0 host-local and ${n(150)} remote blocks\n`;
    case 4:
      return `${ts} WARN ${cls}: Lost task ${n(2000)}.${n(4)} in stage ${n(40)}.0 (TID ${i}): FetchFailed(BlockManagerId(${n(300)}, 10.0.${n(255)}.${n(255)}, 7337), shuffleId=${n(10)})\n\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.throwFetchFailedException(ShuffleBlockFetcherIterator.scala:${n(1200)})\n\tat org.apache.spark.scheduler.Task.run(Task.scala:141)\n`;
    default:
      return `${ts} INFO ${cls}: Block broadcast_${n(500)}_piece0 stored as bytes in memory (estimated size ${n(90)}.${n(10)} KiB, free ${n(4000)}.${n(10)} MiB)\n`;
  }
}

/** One member's text and the lengths of its entries, just under MAX_MEMBER_TEXT_BYTES. */
function poolMember(seed: number): { deflated: Buffer; lengths: number[]; textBytes: number } {
  const r = seededRandom(seed);
  const parts: string[] = [];
  const lengths: number[] = [];
  let bytes = 0;
  for (let i = 0; ; i++) {
    const entry = sparkEntry(r, seed * 100_000 + i);
    const length = Buffer.byteLength(entry);
    if (bytes + length > MAX_MEMBER_TEXT_BYTES) break;
    parts.push(entry);
    lengths.push(length);
    bytes += length;
  }
  return { deflated: gzipSync(Buffer.from(parts.join('')), { level: 6 }), lengths, textBytes: bytes };
}

function memoryMb(): number {
  return Math.round(process.memoryUsage().rss / 1e6);
}

async function tail(store: ByteCountingStore): Promise<{ seconds: number; bytes: number; body: Buffer }> {
  store.reset();
  const started = performance.now();
  const result = await run(
    { kind: 'http', source: 'local', method: 'GET', path: `/logs/${APP_ID}/1/stderr`, query: { tail: String(TAIL) }, headers: {}, body: Buffer.alloc(0) },
    { store, clock: new ManualClock(), logger: silentLogger, metrics: new Metrics() },
  );
  if (result.status !== 200) throw new Error(`?tail= answered ${result.status}`);
  const body = Buffer.isBuffer(result.body) ? result.body : await streamToBuffer(result.body as Readable);
  return { seconds: (performance.now() - started) / 1000, bytes: store.bytesRead(), body };
}

async function main(): Promise<void> {
  console.log(`free space where the log goes (${DIR}):\n${execFileSync('df', ['-h', DIR], { encoding: 'utf8' }).trim()}`);
  const dir = await mkdtemp(join(DIR, 'sparkfn-log-tail-'));
  try {
    const fsStore = new FileObjectStore(dir);
    const key = compactedKey(APP_ID, '1', 'stderr');

    let started = performance.now();
    const pool = Array.from({ length: POOL }, (_, i) => poolMember(i + 1));
    const members = Math.ceil(TEXT_BYTES / pool[0]!.textBytes);
    let offset = 0;
    let textBytes = 0;
    let entries = 0;
    const lastTime = T0 + members * 1000;
    const body = Readable.from(
      (function* () {
        for (let m = 0; m < members; m++) {
          const p = pool[m % POOL]!;
          const index: MemberIndex = { topic: TOPIC, partition: 0, offsets: p.lengths.map((_, i) => offset + i), lengths: p.lengths, firstTime: T0 + m * 1000, lastTime: T0 + m * 1000 + 999 };
          offset += p.lengths.length;
          textBytes += p.textBytes;
          entries += p.lengths.length;
          yield withIndex(index, p.deflated, p.textBytes);
        }
      })(),
    );
    // Metadata as compaction writes it; counts known ahead from the pool.
    const expected = { entries: 0, textBytes: 0 };
    for (let m = 0; m < members; m++) {
      expected.entries += pool[m % POOL]!.lengths.length;
      expected.textBytes += pool[m % POOL]!.textBytes;
    }
    await fsStore.put(key, body, {
      contentType: 'text/plain; charset=utf-8',
      contentEncoding: 'gzip',
      metadata: {
        [META.lineCount]: String(expected.entries),
        [META.textBytes]: String(expected.textBytes),
        [META.firstEventTime]: new Date(T0).toISOString(),
        [META.lastEventTime]: new Date(lastTime).toISOString(),
        [META.offsetRanges]: `${TOPIC}:0:0-${expected.entries - 1}`,
      },
    });
    const generateSeconds = (performance.now() - started) / 1000;
    const objectBytes = (await fsStore.head(key))!.size;
    if (textBytes !== expected.textBytes || entries !== expected.entries) throw new Error('the generated log does not add up');
    console.log(`log: ${(textBytes / 1e9).toFixed(2)} GB of text, ${entries.toLocaleString('en')} records in ${members} members, object ${(objectBytes / 1e6).toFixed(1)} MB; generated in ${generateSeconds.toFixed(1)} s`);

    started = performance.now();
    const index = await publishLogIndex(fsStore, key);
    if (!index) throw new Error('the log could not be indexed');
    const indexSize = (await fsStore.head(logIndexKey(key)))!.size;
    console.log(`index: ${index.members.length} members, ${(indexSize / 1e3).toFixed(0)} kB, built by reading the object back in ${((performance.now() - started) / 1000).toFixed(1)} s (as compaction does)`);

    const store = new ByteCountingStore(fsStore);
    const indexed: { seconds: number; bytes: number; body: Buffer }[] = [];
    for (let i = 0; i < RUNS; i++) indexed.push(await tail(store));
    const best = [...indexed].sort((a, b) => a.seconds - b.seconds);
    const median = best[Math.floor(RUNS / 2)]!;
    const first = indexed[0]!;

    // Baseline: the old path, the same request without the index.
    await fsStore.delete(logIndexKey(key));
    const rssBefore = memoryMb();
    const baseline = await tail(store);
    if (!baseline.body.equals(first.body)) throw new Error('the indexed tail differs from the full read');
    const lines = first.body.toString('utf8').split('\n').length - 1;

    const pct = (bytes: number) => `${((bytes / objectBytes) * 100).toFixed(3)} %`;
    console.log(`?tail=${TAIL} (${lines} lines, ${first.body.length} bytes, same answer both ways):`);
    console.log(`  through the index: first ${first.seconds.toFixed(3)} s, median of ${RUNS} ${median.seconds.toFixed(3)} s; read ${median.bytes.toLocaleString('en')} bytes = ${pct(median.bytes)} of the object (index included)`);
    console.log(`  baseline (old path, whole object decompressed): ${baseline.seconds.toFixed(2)} s; read ${baseline.bytes.toLocaleString('en')} bytes = ${pct(baseline.bytes)}; rss ${rssBefore} → ${memoryMb()} MB`);
    console.log(`  ratio: ${(baseline.seconds / median.seconds).toFixed(0)}× faster, ${(baseline.bytes / median.bytes).toFixed(0)}× fewer bytes`);
    const met = first.seconds < GOAL_SECONDS && median.seconds < GOAL_SECONDS && median.bytes < GOAL_FRACTION * objectBytes;
    console.log(`  goal (< ${GOAL_SECONDS} s, < ${GOAL_FRACTION * 100} % of the object): ${met ? 'met' : 'MISSED'}`);
    if (!met) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
