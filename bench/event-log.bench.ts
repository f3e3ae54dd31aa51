// job-cost's event-log reader on a ≥ 500 MB log, against the floor: reading the same file once
// and counting its newlines on raw Buffers. Then the same for a zstd copy (the baseline
// decompresses with the same decoder and counts). The log is generated here in a temp dir from
// the real fixtures' task, stage, job and SQL events, with executors added and removed
// throughout, and removed afterwards. Goal: cost / baseline ≤ 1.5, peak RSS ≤ 200 MB.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../shared/clock.js';
import { createLogger } from '../shared/logger.js';
import { Metrics } from '../shared/metrics.js';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { decodeZstd } from '../functions/job-cost/codec-zstd.js';
import { run } from '../functions/job-cost/handler.js';
import { getBuffer } from '../shared/store/read.js';
import type { CostRecord } from '../functions/job-cost/cost-record.js';

const TARGET_BYTES = Number(process.env.BENCH_EVENT_LOG_MB ?? 520) * 1024 * 1024;
const FIXTURES = '/work/shared/fixtures/spark-events';
const APP = 'spark-bench0000000000000000000000';
/** A new executor every this many filler lines; executors live for about this many additions. */
const ADD_EVERY = 400;
const LIVE_EXECUTORS = 40;
const MS_PER_LINE = 5;

const mb = (bytes: number) => bytes / (1024 * 1024);
const rssMb = () => process.resourceUsage().maxRSS / 1024;

async function filler(): Promise<string[]> {
  const out: string[] = [];
  for (const name of ['application_1506645932520_24630151', 'application_1553914137147_0018', 'application_1578436911597_0052']) {
    const lines = (await readFile(join(FIXTURES, name), 'utf8')).split('\n');
    out.push(...lines.filter((l) => /"Event":"(SparkListener(Task|Stage|Job|BlockManager|ExecutorMetricsUpdate|StageExecutorMetrics|UnpersistRDD)|org\.apache\.spark\.sql)/.test(l)));
  }
  return out;
}

/** Writes the log; returns its expected executor count and core-seconds. */
async function generate(path: string): Promise<{ executors: number; coreSeconds: number }> {
  const lines = await filler();
  const file = createWriteStream(path, { highWaterMark: 4 * 1024 * 1024 });
  const write = async (text: string) => {
    if (!file.write(text)) await once(file, 'drain');
  };
  const t0 = 1_700_000_000_000;
  let now = t0;
  let written = 0;
  let nextId = 1;
  const live: { id: number; added: number }[] = [];
  let coreSeconds = 0;
  const cores = 2;
  await write(`{"Event":"SparkListenerLogStart","Spark Version":"3.5.1"}\n{"Event":"SparkListenerApplicationStart","App Name":"bench","App ID":"${APP}","Timestamp":${now},"User":"spark"}\n`);
  await write(`{"Event":"SparkListenerEnvironmentUpdate","Spark Properties":{"spark.executor.memory":"4g","spark.executor.cores":"${cores}"}}\n`);
  let batch: string[] = [];
  for (let i = 0; written < TARGET_BYTES; i++) {
    const line = lines[i % lines.length]!;
    batch.push(line);
    written += line.length + 1;
    now += MS_PER_LINE;
    if (i % ADD_EVERY === 0) {
      const id = nextId++;
      batch.push(`{"Event":"SparkListenerExecutorAdded","Timestamp":${now},"Executor ID":"${id}","Executor Info":{"Host":"10.0.${id % 250}.1","Total Cores":${cores},"Log Urls":{},"Attributes":{},"Resources":{},"Resource Profile Id":0}}`);
      live.push({ id, added: now });
      if (live.length > LIVE_EXECUTORS) {
        const gone = live.shift()!;
        batch.push(`{"Event":"SparkListenerExecutorRemoved","Timestamp":${now},"Executor ID":"${gone.id}","Removed Reason":"idle"}`);
        coreSeconds += (cores * (now - gone.added)) / 1000;
      }
    }
    if (batch.length >= 2000) {
      await write(batch.join('\n') + '\n');
      batch = [];
    }
  }
  await write(batch.join('\n') + '\n');
  now += 1000;
  for (const e of live) coreSeconds += (cores * (now - e.added)) / 1000;
  await write(`{"Event":"SparkListenerApplicationEnd","Timestamp":${now}}\n`);
  file.end();
  await once(file, 'finish');
  return { executors: nextId - 1, coreSeconds };
}

async function countNewlines(source: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const chunk of source) for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

async function timed<T>(what: () => Promise<T>): Promise<{ ms: number; value: T }> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = performance.now();
  const value = await what();
  return { ms: performance.now() - start, value };
}

async function costIt(dir: string): Promise<CostRecord> {
  const store = new FileObjectStore(dir);
  const deps = { store, clock: new ManualClock(), logger: createLogger('silent'), metrics: new Metrics() };
  const summary = await run(
    { kind: 'http', source: 'bench', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {}, body: Buffer.from(JSON.stringify({ appId: APP, namespace: 'bench' })) },
    deps,
    { eventLogPrefix: 'spark-events/', teamLabels: [] },
  );
  return JSON.parse((await getBuffer(store, summary.records[0]!.key)).toString('utf8')) as CostRecord;
}

type Measurement = { ms: number; rssMb: number; executors?: number; vcpuSeconds?: number };

/** One measurement in a fresh process, so its peak RSS is its own and not the generator's. */
async function measureHere(kind: string, dir: string): Promise<void> {
  const store = new FileObjectStore(dir);
  let result: { ms: number; value: unknown };
  if (kind === 'baseline-raw') result = await timed(async () => countNewlines(await store.get(`spark-events/${APP}`)));
  else if (kind === 'baseline-zstd') result = await timed(async () => countNewlines(decodeZstd(await store.get(`spark-events/${APP}.zstd`))));
  else if (kind === 'idle') result = await timed(async () => undefined);
  else result = await timed(() => costIt(dir));
  const record = kind === 'cost' ? (result.value as CostRecord) : undefined;
  const m: Measurement = { ms: result.ms, rssMb: rssMb(), ...(record ? { executors: record.executors, vcpuSeconds: record.vcpuSeconds } : {}) };
  process.stdout.write(JSON.stringify(m) + '\n');
}

function measure(kind: string, dir: string): Measurement {
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, '--measure', kind, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`measuring ${kind} failed`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Measurement;
}

if (process.argv[2] === '--measure') {
  await measureHere(process.argv[3]!, process.argv[4]!);
} else {
  const root = await mkdtemp(join(tmpdir(), 'sparkfn-bench-event-log-'));
  try {
    const rawDir = join(root, 'raw');
    const zstdDir = join(root, 'zstd');
    await mkdir(join(rawDir, 'spark-events'), { recursive: true });
    await mkdir(join(zstdDir, 'spark-events'), { recursive: true });
    const rawPath = join(rawDir, 'spark-events', APP);
    const expected = await generate(rawPath);
    const size = (await stat(rawPath)).size;
    console.log(`generated ${mb(size).toFixed(0)} MB, ${expected.executors} executors (${LIVE_EXECUTORS} live at a time), expected ${expected.coreSeconds.toFixed(3)} core-seconds`);
    console.log(`an idle process of this bench (node + tsx + modules) peaks at ${measure('idle', root).rssMb.toFixed(0)} MB RSS`);

    const report = (name: string, base: Measurement, cost: Measurement) => {
      const ok = cost.executors === expected.executors && Math.abs((cost.vcpuSeconds ?? 0) - expected.coreSeconds) < 0.01;
      console.log(
        `${name}: baseline ${(mb(size) / (base.ms / 1000)).toFixed(0)} MB/s (${(base.ms / 1000).toFixed(2)} s, RSS ${base.rssMb.toFixed(0)} MB), ` +
          `cost ${(mb(size) / (cost.ms / 1000)).toFixed(0)} MB/s (${(cost.ms / 1000).toFixed(2)} s, peak RSS ${cost.rssMb.toFixed(0)} MB), ` +
          `ratio ${(cost.ms / base.ms).toFixed(2)} (goal ≤ 1.5, RSS ≤ 200 MB); figures ${ok ? 'match' : `DIFFER: ${cost.executors} executors, ${cost.vcpuSeconds} core-seconds`}`,
      );
      return ok;
    };
    let ok = report('uncompressed', measure('baseline-raw', rawDir), measure('cost', rawDir));

    const zstd = spawnSync('zstd', ['-q', '-3', '-T2', rawPath, '-o', join(zstdDir, 'spark-events', `${APP}.zstd`)], { stdio: 'inherit' });
    if (zstd.error || zstd.status !== 0) {
      console.log('zstd CLI is missing or failed: the zstd half is skipped (apt-get install zstd).');
    } else {
      await rm(rawPath);
      const zsize = (await stat(join(zstdDir, 'spark-events', `${APP}.zstd`))).size;
      console.log(`zstd copy: ${mb(zsize).toFixed(1)} MB (${(size / zsize).toFixed(0)}× smaller; MB/s below are of decompressed bytes)`);
      ok = report('zstd', measure('baseline-zstd', zstdDir), measure('cost', zstdDir)) && ok;
    }
    if (!ok) process.exitCode = 1;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
