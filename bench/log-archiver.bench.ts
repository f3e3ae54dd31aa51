// log-archiver: 1,000,000 synthetic Filebeat events (~400-600 bytes: container input with the
// Spark pod labels, varied Spark log lines) from 200 executors of 20 apps, in Kafka-trigger-sized
// batches (one partition each, executors keyed to partitions as Filebeat's keyed output does),
// archived to the filesystem store, against a baseline in the same process that does only what
// any correct archiver must: JSON.parse every value and gzip the messages at the same level.
// Prints the time ratio, MB/s of input per wall second and per CPU second, and peak RSS, once per
// store folder: tmpfs (/dev/shm) first, which measures the archiver's own work, then the temp
// folder's disk, which adds what this machine's filesystem charges for creating the chunk files
// (the baseline writes nothing; on the ext4 of a shared VM that swings run to run).
// `npm run bench log-archiver -- --events 200000 --batch 1000 --dir /dev/shm --dir /data` to change the scale or the folders.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from '../functions/log-archiver/handler.js';
import { DEFAULT_SETTINGS } from '../functions/log-archiver/settings.js';
import { ManualClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { Metrics } from '../shared/metrics.js';
import type { KafkaRecord } from '../shared/platform/trigger.js';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { seededRandom as rng } from '../test/support/apiserver/rng.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const EVENTS = arg('events', 1_000_000);
/** Records per invocation: the local consumer's 1 MiB fetch holds about 1,900 of these events. */
const BATCH = arg('batch', 2_000);
/** Where the store lives, one run each: `--dir` (repeatable), else tmpfs when there is one, then the temp folder. */
const BASE_DIRS = (() => {
  const given = process.argv.flatMap((a, i) => (a === '--dir' && process.argv[i + 1] ? [process.argv[i + 1]!] : []));
  return given.length > 0 ? given : [...(existsSync('/dev/shm') ? ['/dev/shm'] : []), tmpdir()];
})();
const APPS = 20;
const EXECUTORS_PER_APP = 10;
const PARTITIONS = 12;
const TOPIC = 'spark-logs';
const RSS_LIMIT_MB = 300;


const CLASSES = ['Executor', 'BlockManager', 'TaskSetManager', 'ShuffleBlockFetcherIterator', 'MemoryStore', 'CodeGenerator', 'TorrentBroadcast', 'MapOutputTrackerWorker', 'TransportClientFactory', 'FileScanRDD', 'ParquetFileFormat', 'SortShuffleWriter'];
const TABLES = ['orders', 'order_items', 'customers', 'payments', 'shipments', 'sessions', 'clicks', 'inventory'];

/** A Spark log4j2 line, varied in every field that varies in real logs. */
function sparkLine(r: () => number, i: number): string {
  const n = (max: number) => Math.floor(r() * max);
  const ts = `25/05/14 ${String(2 + n(3)).padStart(2, '0')}:${String(n(60)).padStart(2, '0')}:${String(n(60)).padStart(2, '0')}`;
  const cls = CLASSES[n(CLASSES.length)]!;
  const stage = n(40);
  const task = n(2000);
  switch (n(9)) {
    case 0:
      return `${ts} INFO ${cls}: Running task ${task}.0 in stage ${stage}.0 (TID ${i})`;
    case 1:
      return `${ts} INFO ${cls}: Finished task ${task}.0 in stage ${stage}.0 (TID ${i}). ${n(9000) + 1000} bytes result sent to driver`;
    case 2:
      return `${ts} INFO ${cls}: Reading File path: oss://datalake-prod/warehouse/${TABLES[n(8)]}/dt=2025-05-${String(1 + n(14)).padStart(2, '0')}/part-${String(n(1000)).padStart(5, '0')}-${n(1e9).toString(16)}-c000.snappy.parquet, range: ${n(1e8)}-${n(1e8) + 134217728}, partition values: [empty row]`;
    case 3:
      return `${ts} INFO ${cls}: Getting ${n(400)} (${(r() * 900).toFixed(1)} MiB) non-empty blocks including ${n(100)} (${(r() * 90).toFixed(1)} MiB) local and ${n(50)} (${(r() * 20).toFixed(1)} MiB) host-local and ${n(300)} (${(r() * 700).toFixed(1)} MiB) remote blocks`;
    case 4:
      return `${ts} INFO ${cls}: Block broadcast_${n(500)}_piece0 stored as bytes in memory (estimated size ${(r() * 60).toFixed(1)} KiB, free ${(1000 + r() * 3000).toFixed(1)} MiB)`;
    case 5:
      return `${ts} WARN ${cls}: Putting block rdd_${n(300)}_${task} failed due to exception java.lang.OutOfMemoryError: Java heap space. Spilling ${(r() * 500).toFixed(1)} MiB to disk (${n(20)} times so far)`;
    case 6:
      return `${ts} INFO ${cls}: Code generated in ${(r() * 200).toFixed(6)} ms for stage ${stage}: WholeStageCodegen (${n(30)}) HashAggregate(keys=[customer_id#${n(999)}L], functions=[partial_sum(amount#${n(999)})])`;
    case 7:
      return `${ts} ERROR ${cls}: Exception in task ${task}.0 in stage ${stage}.0 (TID ${i})\norg.apache.spark.shuffle.FetchFailedException: Failed to connect to /10.42.${n(255)}.${n(255)}:7337\n\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.throwFetchFailedException(ShuffleBlockFetcherIterator.scala:${1000 + n(300)})`;
    default:
      return `Row(order_id=${n(1e9)}, customer_id=${n(1e7)}, amount=${(r() * 1000).toFixed(2)}, currency='CNY', created_at=2025-05-14T0${n(10)}:${String(n(60)).padStart(2, '0')}:00Z)`;
  }
}

/** One batch of Filebeat records, as a Kafka trigger hands it over: one partition's next `count` offsets. */
function makeBatch(r: () => number, batchNo: number, count: number, nextOffset: number[]): { records: KafkaRecord[]; bytes: number } {
  const partition = batchNo % PARTITIONS;
  // Executors keyed to partitions: the ones whose number lands on this partition.
  const executors: [number, number][] = [];
  for (let a = 0; a < APPS; a++) for (let e = 1; e <= EXECUTORS_PER_APP; e++) if ((a * EXECUTORS_PER_APP + e) % PARTITIONS === partition) executors.push([a, e]);
  const records: KafkaRecord[] = [];
  let bytes = 0;
  for (let k = 0; k < count; k++) {
    const offset = nextOffset[partition]!++;
    const [a, e] = executors[Math.floor(r() * executors.length)]!;
    const app = `spark-${(0x4f9c2e7a + a * 7919).toString(16)}${String(a).padStart(24, '0')}`;
    const stdout = r() < 0.1;
    const message = sparkLine(r, offset);
    const event = {
      '@timestamp': new Date(Date.UTC(2025, 4, 14, 2) + offset * 7).toISOString(),
      '@metadata': { beat: 'filebeat', type: '_doc', version: '8.13.4' },
      message,
      stream: stdout ? 'stdout' : 'stderr',
      input: { type: 'container' },
      log: { offset: offset * 180 },
      kubernetes: {
        namespace: 'spark-jobs',
        pod: { name: `etl-app-${a}-exec-${e}` },
        labels: { 'spark-app-selector': app, 'spark-exec-id': String(e), 'spark-role': 'executor' },
      },
    };
    const value = Buffer.from(JSON.stringify(event));
    bytes += value.length;
    records.push({ topic: TOPIC, partition, offset: String(offset), timestamp: Date.UTC(2025, 4, 14, 2) + offset * 7, key: null, value, headers: {} });
  }
  return { records, bytes };
}

interface Totals {
  ms: number;
  cpuMs: number;
}

/** Times one call: wall and CPU (this process, threadpool included). */
async function timed(totals: Totals, work: () => Promise<void> | void): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  totals.ms += performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  totals.cpuMs += (used.user + used.system) / 1000;
}

/** The minimum any correct archiver does: parse every value, gzip the batch's messages (newline-terminated) at the same level. */
function baselineBatch(records: readonly KafkaRecord[]): number {
  const lines: string[] = [];
  for (const record of records) lines.push((JSON.parse(record.value!.toString('utf8')) as { message: string }).message, '\n');
  return gzipSync(lines.join(''), { level: DEFAULT_SETTINGS.gzipLevel }).length;
}

/**
 * Both on the same batches, alternately batch by batch, so that load from other processes on
 * the machine falls on both alike; batches are made outside the timed calls, one at a time.
 */
async function runBoth(baseDir: string): Promise<{ baseline: Totals; archiver: Totals; inputBytes: number; peakRssMb: number; chunks: number; gzipBytes: number }> {
  const dir = await mkdtemp(join(baseDir, 'archiver-bench-'));
  const deps = { store: new FileObjectStore(dir), clock: new ManualClock(), logger: silentLogger, metrics: new Metrics() };
  const r = rng(20250514);
  const nextOffset = new Array<number>(PARTITIONS).fill(0);
  const baseline: Totals = { ms: 0, cpuMs: 0 };
  const archiver: Totals = { ms: 0, cpuMs: 0 };
  let inputBytes = 0;
  let peakRss = 0;
  let chunks = 0;
  let archived = 0;
  let gzipBytes = 0;
  try {
    for (let b = 0, done = 0; done < EVENTS; b++) {
      const { records, bytes } = makeBatch(r, b, Math.min(BATCH, EVENTS - done), nextOffset);
      done += records.length;
      inputBytes += bytes;
      await timed(baseline, () => void (gzipBytes += baselineBatch(records)));
      await timed(archiver, async () => {
        const summary = await run({ kind: 'kafka', source: 'bench', records }, deps, DEFAULT_SETTINGS);
        if (summary.kind !== 'archive' || summary.deadLettered !== 0) throw new Error(`unexpected summary ${JSON.stringify(summary)}`);
        chunks += summary.chunks;
        archived += summary.archived;
      });
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
    if (archived !== EVENTS) throw new Error(`archived ${archived} of ${EVENTS} events`);
    return { baseline, archiver, inputBytes, peakRssMb: peakRss / 1024 / 1024, chunks, gzipBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => bytes / 1e6;
function report(name: string, t: Totals, inputBytes: number, detail: string): string {
  return `${name.padEnd(9)} ${(t.ms / 1000).toFixed(2).padStart(7)} s wall  ${(t.cpuMs / 1000).toFixed(2).padStart(7)} s CPU  ${(mb(inputBytes) / (t.ms / 1000)).toFixed(1).padStart(6)} MB/s wall  ${(mb(inputBytes) / (t.cpuMs / 1000)).toFixed(1).padStart(6)} MB/s per CPU-second  (${detail})`;
}

for (const baseDir of BASE_DIRS) {
  console.log(`\n${EVENTS.toLocaleString('en')} events, batches of ${BATCH}, ${APPS * EXECUTORS_PER_APP} executors of ${APPS} apps over ${PARTITIONS} partitions, gzip level ${DEFAULT_SETTINGS.gzipLevel}, store in ${baseDir}`);
  const result = await runBoth(baseDir);
  console.log(`input     ${mb(result.inputBytes).toFixed(1)} MB, ${(result.inputBytes / EVENTS).toFixed(0)} bytes per event`);
  console.log(report('baseline', result.baseline, result.inputBytes, `JSON.parse + one gzip per batch: ${mb(result.gzipBytes).toFixed(1)} MB`));
  console.log(report('archiver', result.archiver, result.inputBytes, `${result.chunks} chunks written, ${(result.chunks / Math.ceil(EVENTS / BATCH)).toFixed(1)} per batch`));
  console.log(`ratio     archiver / baseline: ${(result.archiver.ms / result.baseline.ms).toFixed(2)} wall, ${(result.archiver.cpuMs / result.baseline.cpuMs).toFixed(2)} CPU (goal ≤ 1.2, stretch < 1.0)`);
  console.log(`peak RSS  ${result.peakRssMb.toFixed(0)} MB (limit ${RSS_LIMIT_MB} MB)`);
  if (result.peakRssMb > RSS_LIMIT_MB) {
    console.log(`FAIL: peak RSS ${result.peakRssMb.toFixed(0)} MB is over ${RSS_LIMIT_MB} MB`);
    process.exitCode = 1;
  }
}
