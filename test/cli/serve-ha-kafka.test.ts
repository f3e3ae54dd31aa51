import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { compactApp } from '../../functions/log-archiver/compact.js';
import { parseLogKey } from '../../functions/log-archiver/chunk-key.js';
import { readMembers } from '../../functions/log-archiver/gzip-member.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import { ManualClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { committedOffsets, FAST_CONSUMER, uncommitted } from '../kafka/harness.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { startServeChild, type ServeChild } from '../support/serve-child.js';

const PARTITIONS = 6;
/** Produced in waves while the replicas consume, so that the kills land mid-run. */
const WAVES = 40;
const PER_WAVE = 2_550;
const RECORDS = WAVES * PER_WAVE;
const WAVE_EVERY_MS = 300;
/** After these waves replica-0 is SIGKILLed and started again. */
const KILL_AFTER_WAVES = [10, 25];
/**
 * After this wave replica-1 is frozen (SIGSTOP) past the session timeout, so the group drops it
 * and hands its partitions on, then thawed: it comes back a zombie that may archive a batch the
 * new owner archives too, and whose commit the group refuses.
 */
const FREEZE_AFTER_WAVE = 17;
const FREEZE_MS = FAST_CONSUMER.sessionTimeout + 2_000;
/** Two executors per partition: every batch writes more than one chunk. */
const EXECUTORS_PER_PARTITION = 2;
/** Bounds on waiting (tsx compiles the sources on start; the machine is shared). */
const DRAIN_MS = 90_000;
const POLL_MS = 250;
/** Commits are checked against the store this often while the run goes on. */
const AUDIT_EVERY_MS = 1_000;

/** Offsets seen per partition, as sets (a chunk rewritten by a redelivery has the same key and bytes). */
type Offsets = Map<number, number[]>;

/** Every offset in the chunks and compacted objects under logs/<appId>/, per partition, one entry per copy. */
async function archivedOffsets(store: FileObjectStore, appId: string, cache: Map<string, { partition: number; offsets: number[] }[]>): Promise<{ byPartition: Offsets; chunks: number; compacted: number }> {
  const byPartition: Offsets = new Map();
  let chunks = 0;
  let compacted = 0;
  for await (const { key } of listAll(store, `logs/${appId}/`)) {
    const parsed = parseLogKey(key);
    if (!parsed) continue;
    // A chunk's bytes never change (a redelivery of the same range writes the same bytes); a compacted object can.
    let members = parsed.kind === 'chunk' ? cache.get(key) : undefined;
    if (!members) {
      const bytes = await getBuffer(store, key).catch((err: NodeJS.ErrnoException) => {
        // Compaction may delete a chunk between the listing and the read.
        if (err.code === 'ENOENT' || (err as { name?: string }).name === 'NotFoundError') return undefined;
        throw err;
      });
      if (!bytes) continue;
      members = readMembers(bytes, key).map((m) => ({ partition: m.index.partition, offsets: m.index.offsets }));
      if (parsed.kind === 'chunk') cache.set(key, members);
    }
    if (parsed.kind === 'chunk') chunks++;
    else compacted++;
    for (const m of members) {
      const list = byPartition.get(m.partition) ?? [];
      for (const o of m.offsets) list.push(o);
      byPartition.set(m.partition, list);
    }
  }
  return { byPartition, chunks, compacted };
}

function logLines(child: ServeChild): { msg?: string; reason?: string }[] {
  return child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string });
}

describe('sparkfn serve as three replicas in one Kafka consumer group', () => {
  let kafka: MockKafka | undefined;
  let dir: string | undefined;
  let producer: Producer | undefined;
  const children: ServeChild[] = [];

  afterAll(async () => {
    await producer?.disconnect().catch(() => {});
    await Promise.all(children.map((c) => c.stop(1_000)));
    await kafka?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('archives every offset of 6 partitions exactly once while a replica is SIGKILLed and restarted twice and another frozen past its session, committing only what was archived', async () => {
    kafka = await startMockKafka({ host: 'python3' });
    const topic = `spark-logs-${randomUUID().slice(0, 8)}`;
    const group = `sparkfn-ha-${randomUUID().slice(0, 8)}`;
    const appId = `spark-ha-${randomUUID().slice(0, 8)}`;
    await kafka.createTopic(topic, PARTITIONS);
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-ha-kafka-'));
    const store = new FileObjectStore(dir);
    const env = {
      SPARKFN_STORE: `file://${dir}`,
      SPARKFN_KAFKA_BROKERS: kafka.brokers.join(','),
      SPARKFN_KAFKA_TOPICS: topic,
      SPARKFN_KAFKA_GROUP: group,
      SPARKFN_KAFKA_SESSION_TIMEOUT_MS: String(FAST_CONSUMER.sessionTimeout),
      SPARKFN_KAFKA_REBALANCE_TIMEOUT_MS: String(FAST_CONSUMER.rebalanceTimeout),
      SPARKFN_KAFKA_HEARTBEAT_INTERVAL_MS: String(FAST_CONSUMER.heartbeatInterval),
      SPARKFN_KAFKA_MAX_WAIT_MS: String(FAST_CONSUMER.maxWaitTimeInMs),
      SPARKFN_LOG_LEVEL: 'info',
    };
    const replicas = await Promise.all([0, 1, 2].map(() => startServeChild(env)));
    children.push(...replicas);

    producer = new Kafka({ brokers: kafka.brokers, clientId: 'ha-producer', logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const produced = new Array<number>(PARTITIONS).fill(0);

    // While the run goes on: whatever the group has committed must already be in the store.
    const chunkCache = new Map<string, { partition: number; offsets: number[] }[]>();
    let audits = 0;
    let auditing = true;
    const audit = (async () => {
      while (auditing) {
        const committed = await committedOffsets(kafka!.brokers, group, topic);
        const { byPartition } = await archivedOffsets(store, appId, chunkCache);
        for (const [partition, next] of committed) {
          const have = new Set(byPartition.get(partition) ?? []);
          const missing = [];
          for (let o = 0; o < Number(next) && missing.length < 5; o++) if (!have.has(o)) missing.push(o);
          expect(missing, `partition ${partition} committed up to ${next} but these offsets are not archived`).toEqual([]);
        }
        audits++;
        await new Promise((r) => setTimeout(r, AUDIT_EVERY_MS));
      }
    })();
    audit.catch(() => {});

    const killed: ServeChild[] = [];
    let frozen: Promise<void> = Promise.resolve();
    for (let wave = 0; wave < WAVES; wave++) {
      const messages = Array.from({ length: PER_WAVE }, (_, i) => {
        const partition = i % PARTITIONS;
        const seq = produced[partition]!++;
        const executor = partition * EXECUTORS_PER_PARTITION + (seq % EXECUTORS_PER_PARTITION) + 1;
        return { partition, key: `spark/${appId}/${executor}`, value: `p${partition} #${seq}` };
      });
      await producer.send({ topic, messages });
      if (KILL_AFTER_WAVES.includes(wave)) {
        // The same replica each time: killed mid-batch, it leaves its partitions to the session timeout.
        const victim = children[0]!;
        process.kill(victim.pid, 'SIGKILL');
        await victim.exited;
        killed.push(victim);
        children[0] = await startServeChild(env);
      }
      if (wave === FREEZE_AFTER_WAVE) {
        const zombie = children[1]!;
        process.kill(zombie.pid, 'SIGSTOP');
        frozen = new Promise<void>((r) => setTimeout(r, FREEZE_MS)).then(() => void process.kill(zombie.pid, 'SIGCONT'));
      }
      await new Promise((r) => setTimeout(r, WAVE_EVERY_MS));
    }
    await frozen;

    const deadline = Date.now() + DRAIN_MS;
    while ((await uncommitted(kafka.brokers, group, topic)) > 0) {
      if (Date.now() > deadline) throw new Error(`the group did not commit every record within ${DRAIN_MS} ms:\n${children.map((c) => c.output().slice(-3000)).join('\n---\n')}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    auditing = false;
    await audit;

    // No replica but the killed one ever ended; each stops cleanly on SIGTERM.
    for (const child of children) {
      const early = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r(undefined), 0))]);
      expect(early, `a replica ended on its own:\n${child.output().slice(-4000)}`).toBeUndefined();
    }
    await Promise.all(children.map((c) => c.stop(30_000)));
    for (const child of children) expect((await child.exited).code, child.output().slice(-4000)).toBe(0);

    const everyone = [...killed, ...children];
    const joins = everyone.flatMap(logLines).filter((l) => l.msg === 'kafka consumer joined its group').length;
    const rejoins = everyone.flatMap(logLines).filter((l) => l.msg === 'kafka consumer rejoins its group').map((l) => l.reason);

    // At least once before compaction: every offset is in some chunk, some maybe twice (redelivered after a kill).
    const before = await archivedOffsets(store, appId, new Map());
    let copies = 0;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const offsets = before.byPartition.get(partition) ?? [];
      copies += offsets.length;
      expect(new Set(offsets).size, `partition ${partition}: distinct offsets archived`).toBe(produced[partition]);
    }

    // Exactly once after compaction, the archive's stated dedupe guarantee, and nothing else.
    const deps = { store, clock: new ManualClock(), logger: silentLogger, metrics: new Metrics() };
    const summary = await compactApp(appId, deps, DEFAULT_SETTINGS);
    expect(summary.failed).toBe(0);
    const after = await archivedOffsets(store, appId, new Map());
    expect(after.chunks, 'chunks left after compaction').toBe(0);
    expect(after.compacted).toBe(PARTITIONS * EXECUTORS_PER_PARTITION);
    expect([...after.byPartition.keys()].sort()).toEqual([...Array(PARTITIONS).keys()]);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const offsets = [...(after.byPartition.get(partition) ?? [])].sort((a, b) => a - b);
      expect(offsets.length, `partition ${partition}: archived entries`).toBe(produced[partition]);
      expect(offsets.every((o, i) => o === i), `partition ${partition}: offsets 0..${produced[partition]! - 1}, each once`).toBe(true);
    }
    const deadLetters = [];
    for await (const o of listAll(store, 'deadletter/')) deadLetters.push(o.key);
    expect(deadLetters).toEqual([]);
    const committed = await committedOffsets(kafka.brokers, group, topic);
    expect([...committed].sort(([a], [b]) => a - b).map(([, o]) => Number(o))).toEqual(produced);

    console.log(
      `kafka HA: ${RECORDS} records over ${PARTITIONS} partitions; ${killed.length} SIGKILLs, 1 freeze of ${FREEZE_MS} ms; ${joins} group joins, ${rejoins.length} consumer rejoins (${rejoins.join(', ')}); ` +
        `${copies - RECORDS} records archived twice before compaction (${summary.dropped} dropped by it); ${audits} commit audits`,
    );
    expect(audits).toBeGreaterThan(5);
  }, 180_000);
});
