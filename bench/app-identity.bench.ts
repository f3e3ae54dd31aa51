// job-cost's event-log-properties resolution (a SparkApplication's app id without cluster or pod
// watch) in a store holding many apps' event logs, against the floor any such search has: one
// listing of the event-log prefix, plus reading the one app's own event log, which costing it does
// anyway. The logs are copies of the real spark-pi-python log (test/job-cost/data/SOURCES.md),
// each under its own app id and SparkApplication name and padded with the real fixtures' task
// events to BENCH_IDENTITY_LOG_KB, in a temp dir removed afterwards. Goal: finding the app ≤ 1.5 ×
// the floor, and a name no log carries (MAX_HEADS_READ heads read) ≤ 2.5 × it: the heads, not
// the logs, are read, so the cost follows the listing.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { listAll } from '../shared/store/read.js';
import { eventLogPropertiesSource, MAX_HEADS_READ } from '../functions/job-cost/event-log-identity.js';
import { readEventLog } from '../functions/job-cost/event-log-reader.js';

const LOGS = Number(process.env.BENCH_IDENTITY_LOGS ?? 400);
const LOG_BYTES = Number(process.env.BENCH_IDENTITY_LOG_KB ?? 1024) * 1024;
const ROUNDS = 11;
const PI_APP_ID = 'spark-bcec39f6201b42b9925124595baad260';
const PI_LOG = join(import.meta.dirname, '../test/job-cost/data', `eventlog_v2_${PI_APP_ID}`, `events_1_${PI_APP_ID}`);
const FIXTURES = '/work/shared/fixtures/spark-events';
const NS = 'spark-team-a';
const END = Date.parse('2026-03-01T10:00:00Z');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkfn-bench-identity-'));
  try {
    const store = new FileObjectStore(dir);
    const pi = readFileSync(PI_LOG, 'utf8');
    const [head, ...rest] = pi.split('\n');
    const tasks = (await readFile(join(FIXTURES, 'application_1506645932520_24630151'), 'utf8')).split('\n').filter((l) => l.includes('"SparkListenerTask'));
    const padding: string[] = [];
    for (let bytes = pi.length, i = 0; bytes < LOG_BYTES; i++) {
      const line = tasks[i % tasks.length]!;
      padding.push(line);
      bytes += line.length + 1;
    }
    // The app's own events, then task events up to the size, then its end (as Spark writes them).
    const body = [head, ...rest.slice(0, -2), ...padding, ...rest.slice(-2)].join('\n');
    const idOf = (i: number) => `spark-${String(i).padStart(32, '0')}`;
    for (let i = 0; i < LOGS; i++) {
      const log = body.replaceAll(PI_APP_ID, idOf(i)).replaceAll('app-name":"spark-pi-python"', `app-name":"app-${i}"`);
      await store.put(`spark-events/eventlog_v2_${idOf(i)}/events_1_${idOf(i)}`, log);
      // Apps ended over the past days; app 0 ended just now.
      const at = new Date(END - i * 600_000);
      await utimes(join(dir, 'spark-events', `eventlog_v2_${idOf(i)}`, `events_1_${idOf(i)}`), at, at);
    }
    const target = idOf(0);
    const check = await eventLogPropertiesSource(store, 'spark-events/').resolve({ namespace: NS, name: 'app-0', endTime: END });
    if (check?.appId !== target) throw new Error(`resolution found ${JSON.stringify(check)}, not ${target}`);

    const baseline: number[] = [];
    const found: number[] = [];
    const missing: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      baseline.push(
        await timed(async () => {
          for await (const object of listAll(store, 'spark-events/')) void object;
          await readEventLog(store, 'spark-events/', target);
        }),
      );
      found.push(await timed(() => eventLogPropertiesSource(store, 'spark-events/').resolve({ namespace: NS, name: 'app-0', endTime: END })));
      missing.push(await timed(() => eventLogPropertiesSource(store, 'spark-events/').resolve({ namespace: NS, name: 'no-such-app', endTime: END })));
    }
    const b = median(baseline);
    const f = median(found);
    const m = median(missing);
    console.log(`${LOGS} event logs of ${(LOG_BYTES / 1024).toFixed(0)} KiB each; median of ${ROUNDS} rounds`);
    console.log(`floor: list the prefix + read the app's log  ${b.toFixed(1)} ms`);
    console.log(`resolve the app (nearest head first)         ${f.toFixed(1)} ms  ratio ${(f / b).toFixed(2)} (goal ≤ 1.5)`);
    console.log(`resolve a name no log has (${MAX_HEADS_READ} heads)       ${m.toFixed(1)} ms  ratio ${(m / b).toFixed(2)} (goal ≤ 2.5)`);
    if (f / b > 1.5 || m / b > 2.5) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
