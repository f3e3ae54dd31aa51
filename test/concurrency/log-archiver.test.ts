import type { CoreV1Event } from '@kubernetes/client-node';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ArchiveSummary } from '../../functions/log-archiver/archive-batch.js';
import { compactedKey } from '../../functions/log-archiver/chunk-key.js';
import { type CompactionSummary, compactStream, listStreams } from '../../functions/log-archiver/compact.js';
import { run as archiverRun } from '../../functions/log-archiver/handler.js';
import type { LogStream } from '../../functions/log-archiver/identity.js';
import { indexDescribes, logIndexKey, readLogIndex } from '../../functions/log-archiver/log-index.js';
import { ChunkVanishedError } from '../../functions/log-archiver/merge-members.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import { run as view } from '../../functions/log-viewer/handler.js';
import { ManualClock } from '../../shared/clock.js';
import type { Deps } from '../../shared/deps.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import type { KafkaRecord } from '../../shared/platform/trigger.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll, streamToBuffer } from '../../shared/store/read.js';
import { concurrencySeeds, deliverAll, storesUnderTest, type DeliveryPlan, type StoreFactory } from '../support/concurrency.js';
import { loadEvent } from '../support/events.js';
import type { Random } from '../support/apiserver/rng.js';
import { APP_ID, executorLine, linesOf, record } from '../log-archiver/support.js';

/** Both deliveries of one seed: on s3rver, on a shared machine, a few hundred requests each take their time. */
const SEED_TIMEOUT_MS = 300_000;
const PARTITIONS = [0, 1];
const OFFSETS = 120;
const BATCH = 10;
const EXECUTORS = ['1', '2', '3'];
// Offset o of partition p: executor o % 3 + 1, stderr on even offsets, stdout on odd ones.
const executorOf = (o: number) => String((o % 3) + 1);
const streamOf = (o: number): LogStream => (o % 2 === 0 ? 'stderr' : 'stdout');
const lineOf = (p: number, o: number) => `p${p} o${o} exec ${executorOf(o)}`;
const STREAMS = EXECUTORS.flatMap((e) => (['stderr', 'stdout'] as const).map((s) => ({ executorId: e, stream: s })));

type Event =
  | { kind: 'batch'; partition: number; from: number; to: number }
  | { kind: 'replica-compaction'; n: number }
  | { kind: 'app-end'; n: number }
  | { kind: 'timer'; n: number }
  | { kind: 'read'; executorId: string; stream: LogStream };

function records(partition: number, from: number, to: number): KafkaRecord[] {
  const out: KafkaRecord[] = [];
  for (let o = from; o < to; o++) out.push(record(o, executorLine(lineOf(partition, o), { executorId: executorOf(o), stream: streamOf(o) }), { partition }));
  return out;
}

/** Batches in order, then re-deliveries split differently; compactions of every kind and reads among them. */
function events(): Event[] {
  const out: Event[] = [];
  for (let from = 0; from < OFFSETS; from += BATCH) for (const partition of PARTITIONS) out.push({ kind: 'batch', partition, from, to: from + BATCH });
  for (let from = 5; from + 17 <= OFFSETS; from += 23) out.push({ kind: 'batch', partition: from % 2, from, to: from + 17 });
  const extra: Event[] = [];
  for (let n = 0; n < 10; n++) extra.push({ kind: 'replica-compaction', n });
  for (let n = 0; n < 5; n++) extra.push({ kind: 'app-end', n });
  for (let n = 0; n < 4; n++) extra.push({ kind: 'timer', n });
  STREAMS.forEach((s, i) => i % 2 === 0 && extra.push({ kind: 'read', ...s }));
  // Spread the compactions and reads through the batches, so that one by one also compacts mid-way.
  const step = Math.floor(out.length / extra.length);
  extra.forEach((e, i) => out.splice((i + 1) * step + i, 0, e));
  return out;
}

const expectedLines = (executorId: string, stream: LogStream) =>
  PARTITIONS.flatMap((p) => Array.from({ length: OFFSETS }, (_, o) => o).filter((o) => executorOf(o) === executorId && streamOf(o) === stream).map((o) => lineOf(p, o)));

interface World {
  deps: Deps & { clock: ManualClock };
  /** The same store as another replica reaches it. */
  replica: ObjectStore;
  cleanup(): Promise<void>;
  archived: { records: number; archived: number; chunks: number; deadLettered: number };
  compactions: { failed: number; errors: string[] };
  reads: { duplicates: number; disorder: number; errors: string[] };
}

interface Snapshot {
  keys: string[];
  logs: Record<string, string[]>;
  served: Record<string, string[]>;
  metadata: Record<string, Record<string, string | undefined>>;
  /** Per stream: whether the index beside the compacted object describes it as it is. */
  indexFresh: Record<string, boolean>;
  archived: World['archived'];
  compactionFailures: World['compactions'];
  reads: World['reads'];
  chunkMetric: string[];
}

async function bodyOf(result: { body?: unknown }): Promise<string> {
  const b = result.body;
  return (typeof b === 'string' || Buffer.isBuffer(b) ? Buffer.from(b) : await streamToBuffer(b as Readable)).toString('utf8');
}

async function serve(deps: Deps, executorId: string, stream: LogStream): Promise<{ status: number; text: string }> {
  const result = await view({ kind: 'http', source: 'test', method: 'GET', path: `/logs/${APP_ID}/${executorId}/${stream}`, query: {}, headers: {}, body: Buffer.alloc(0) }, deps);
  return { status: result.status, text: await bodyOf(result) };
}

/** Most network latency added to a replica's write of a compacted object, so that writes land late and out of order. */
const REPLICA_WRITE_LATENCY_MS = 40;

/**
 * The store as another replica reaches it: a write of a compacted object reads its sources at
 * once (an upload, S3's part copies) and lands after a seeded random latency.
 */
function replicaStore(store: ObjectStore, random: Random): ObjectStore {
  const compacted = (key: string) => key.split('/').length === 4 && key.endsWith('.log.gz');
  const late = () => new Promise<void>((resolve) => setTimeout(resolve, Math.floor(random() * REPLICA_WRITE_LATENCY_MS)));
  const replica = Object.create(store) as ObjectStore;
  replica.put = async (key, body, options) => {
    if (!compacted(key)) return store.put(key, body, options);
    const bytes = body instanceof Readable ? await streamToBuffer(body) : body;
    await late();
    return store.put(key, bytes, options);
  };
  replica.compose = async (sources, to, options) => {
    const bytes = Buffer.concat(await Promise.all(sources.map((k) => getBuffer(store, k))));
    await late();
    return store.put(to, bytes, options);
  };
  return replica;
}

/** Another replica: the same core, without this process's guard against compacting a stream twice. */
async function replicaCompaction(deps: Deps): Promise<void> {
  for (const s of await listStreams(deps.store, `logs/${APP_ID}/`)) {
    if (s.chunks.length === 0) continue;
    try {
      await compactStream(s, deps, DEFAULT_SETTINGS);
    } catch (err) {
      if (!(err instanceof ChunkVanishedError)) throw err;
    }
  }
}

const appEnd = () => ({ kind: 'k8s-events' as const, source: 'test', events: [loadEvent('k8s/event') as CoreV1Event] });

function plan(factory: StoreFactory): DeliveryPlan<Event, World, Snapshot> {
  return {
    events: events(),
    async setUp(random) {
      const { store, cleanup } = await factory();
      // The timer sees every chunk as idle.
      const clock = new ManualClock(Date.now() + 2 * DEFAULT_SETTINGS.compactIdleMs);
      return {
        deps: { store, clock, logger: silentLogger, metrics: new Metrics() },
        replica: replicaStore(store, random),
        cleanup,
        archived: { records: 0, archived: 0, chunks: 0, deadLettered: 0 },
        compactions: { failed: 0, errors: [] },
        reads: { duplicates: 0, disorder: 0, errors: [] },
      };
    },
    async deliver(world, event) {
      const { deps } = world;
      try {
        if (event.kind === 'batch') {
          const s = (await archiverRun({ kind: 'kafka', source: 'test', records: records(event.partition, event.from, event.to) }, deps, DEFAULT_SETTINGS)) as ArchiveSummary;
          world.archived.records += s.records;
          world.archived.archived += s.archived;
          world.archived.chunks += s.chunks;
          world.archived.deadLettered += s.deadLettered;
        } else if (event.kind === 'replica-compaction') {
          await replicaCompaction({ ...deps, store: world.replica });
        } else if (event.kind === 'app-end' || event.kind === 'timer') {
          const input = event.kind === 'app-end' ? appEnd() : { kind: 'schedule' as const, source: 'test', time: deps.clock.now() };
          const s = (await archiverRun(input, deps, DEFAULT_SETTINGS)) as CompactionSummary;
          world.compactions.failed += s.failed;
        } else {
          const { status, text } = await serve(deps, event.executorId, event.stream);
          if (status === 404) return; // nothing archived for it yet
          const lines = linesOf(text);
          world.reads.duplicates += lines.length - new Set(lines).size;
          const order = expectedLines(event.executorId, event.stream);
          const positions = lines.map((l) => order.indexOf(l));
          world.reads.disorder += positions.filter((p, i) => p === -1 || (i > 0 && p <= (positions[i - 1] as number))).length;
        }
      } catch (err) {
        const target = event.kind === 'read' ? world.reads.errors : world.compactions.errors;
        target.push(`${event.kind}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    // The timer's next run, alone: it deletes the chunks that overlapping runs kept.
    async settle(world) {
      const s = (await archiverRun({ kind: 'schedule', source: 'test', time: world.deps.clock.now() }, world.deps, DEFAULT_SETTINGS)) as CompactionSummary;
      world.compactions.failed += s.failed;
    },
    async snapshot(world) {
      const { store } = world.deps;
      const keys: string[] = [];
      for await (const o of listAll(store, 'logs/')) keys.push(o.key);
      const logs: Record<string, string[]> = {};
      const served: Record<string, string[]> = {};
      const metadata: Record<string, Record<string, string | undefined>> = {};
      const indexFresh: Record<string, boolean> = {};
      for (const { executorId, stream } of STREAMS) {
        const key = compactedKey(APP_ID, executorId, stream);
        const id = `${executorId}/${stream}`;
        logs[id] = keys.includes(key) ? linesOf(gunzipSync(await getBuffer(store, key)).toString('utf8')) : [];
        served[id] = linesOf((await serve(world.deps, executorId, stream)).text);
        const info = await store.head(key);
        metadata[id] = { lines: info?.metadata['line-count'], ranges: info?.metadata['offset-ranges'], textBytes: info?.metadata['text-bytes'] };
        const index = await readLogIndex(store, key);
        indexFresh[id] = Boolean(index && info && indexDescribes(index, info));
      }
      const metrics = await world.deps.metrics.text();
      return {
        keys: keys.sort(),
        logs,
        served,
        metadata,
        indexFresh,
        archived: world.archived,
        compactionFailures: world.compactions,
        reads: world.reads,
        chunkMetric: metrics.split('\n').filter((l) => l.startsWith('sparkfn_log_archiver_objects_written_total{kind="chunk"}')),
      };
    },
    async tearDown(world) {
      await world.cleanup();
    },
  };
}

describe.each(storesUnderTest())('log-archiver compaction under concurrency on %s', (_, makeFactory) => {
  it('has at least 50 events touching one app', () => {
    expect(events().length).toBeGreaterThanOrEqual(50);
  });

  it.each(concurrencySeeds())('ends in the same logs, served once each, one by one and all at once (seed %i)', async (seed) => {
    const p = plan(makeFactory());
    const oneByOne = await deliverAll(p, 'one-by-one', seed);
    const allAtOnce = await deliverAll(p, 'all-at-once', seed);
    expect(allAtOnce, `seed ${seed}: all at once differs from one by one`).toEqual(oneByOne);

    // And right: one compacted object per stream, every record once, in order, nothing else left.
    // (each with its index beside it, describing the object as it is: log-index.ts)
    expect(oneByOne.keys, `seed ${seed}`).toEqual(STREAMS.flatMap((s) => [compactedKey(APP_ID, s.executorId, s.stream), logIndexKey(compactedKey(APP_ID, s.executorId, s.stream))]).sort());
    expect(Object.values(oneByOne.indexFresh), `seed ${seed}`).toEqual(STREAMS.map(() => true));
    for (const { executorId, stream } of STREAMS) {
      const id = `${executorId}/${stream}`;
      expect(oneByOne.logs[id], `seed ${seed}: ${id}`).toEqual(expectedLines(executorId, stream));
      expect(oneByOne.served[id], `seed ${seed}: ${id} as served`).toEqual(expectedLines(executorId, stream));
      expect(oneByOne.metadata[id]?.lines, `seed ${seed}: ${id}`).toBe(String(expectedLines(executorId, stream).length));
    }
    expect(oneByOne.compactionFailures, `seed ${seed}`).toEqual({ failed: 0, errors: [] });
    expect(oneByOne.reads, `seed ${seed}`).toEqual({ duplicates: 0, disorder: 0, errors: [] });
  }, SEED_TIMEOUT_MS);
});
