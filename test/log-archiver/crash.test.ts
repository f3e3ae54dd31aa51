import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactStreams, listStreams } from '../../functions/log-archiver/compact.js';
import { deadLetterKey } from '../../functions/log-archiver/dead-letter.js';
import { readMembers } from '../../functions/log-archiver/gzip-member.js';
import { resolveSettings } from '../../functions/log-archiver/settings.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { registerCompressionCodecs } from '../../shared/kafka/codecs.js';
import { FAST_CONSUMER, uncommitted, unique } from '../kafka/harness.js';
import { type MockKafka, startMockKafka } from '../support/kafka-mock.js';
import { depsFor, keys, withIndexes } from './support.js';
import { seededRandom as rng } from '../support/apiserver/rng.js';

/** Fixed, so a failure replays the same kill points; change it to explore others. */
const SEED = 0x5eed_2025;
const PARTITIONS = 6;
const RECORDS = 54_000;
const KILLS = 4;
const EXECUTORS = 24;
/** Records per producer send: one record batch of 200 records per partition. */
const SEND_RECORDS = 1_200;
/** Small fetches: many batches, so kills land in many places (the mock hands out one record batch per fetch anyway). */
const MAX_BYTES_PER_PARTITION = 64 * 1024;
const CHILD = fileURLToPath(new URL('../support/log-archiver-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A child's start (tsx, the group join after a killed member's session expired) takes seconds; never minutes. */
const START_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;


interface BatchLine {
  step: 'start' | 'done';
  partition: number;
  first: number;
  last: number;
  records: number;
}

/** A running child: its batch lines as they come, its exit. */
class Child {
  readonly lines: BatchLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private output = '';
  private waiters: (() => void)[] = [];
  ready = false;

  constructor(readonly process: ChildProcess) {
    this.exited = new Promise((resolve) => process.once('exit', (code, signal) => (resolve({ code, signal }), this.wake())));
    let partial = '';
    process.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        const m = /^@@ (start|done) (\d+) (\d+) (\d+) (\d+)$/.exec(line);
        if (m) this.lines.push({ step: m[1] as 'start' | 'done', partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]), records: Number(m[5]) });
        else if (line === '@@ ready') this.ready = true;
      }
      this.wake();
    });
    process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.output = (this.output + chunk).slice(-8_000);
    });
  }

  /** Resolves once `done()` holds (checked on every line); rejects on timeout or an early exit. */
  until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${what}: not within ${timeoutMs} ms. Child stderr:\n${this.output}`)), timeoutMs);
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (done()) finish();
        else if (this.process.exitCode !== null || this.process.signalCode !== null) finish(new Error(`${what}: the child exited (${this.process.exitCode ?? this.process.signalCode}). Its stderr:\n${this.output}`));
      };
      this.waiters.push(check);
      check();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

let kafka: MockKafka;
let dir: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  kafka = await startMockKafka({ host: 'python3' });
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-crash-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await kafka?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** What one produced record must become: a line of an executor stream, or a dead letter. */
type Expected = { kind: 'line'; app: string; executor: string; stream: 'stdout' | 'stderr'; text: string } | { kind: 'dead' };

function recordFor(i: number): { message: Message; expected: Expected; partition: number } {
  const executor = String(i % EXECUTORS);
  const app = `spark-crash-app-${i % 3}`;
  // Filebeat's keyed output keeps an executor in one partition.
  const partition = (i % EXECUTORS) % PARTITIONS;
  if (i % 997 === 500) return { partition, message: { partition, value: `{"message":"cut short at ${i}` }, expected: { kind: 'dead' } };
  const stream = i % 11 === 0 ? 'stdout' : 'stderr';
  const text = `25/05/14 02:${String(i % 60).padStart(2, '0')}:00 INFO Executor: Finished task ${i}.0 in stage 3.0 (TID ${i}). ${i % 5 === 0 ? '2503 bytes result sent to driver ✓' : 'Ok'}`;
  const event = {
    '@timestamp': new Date(Date.UTC(2025, 4, 14) + i).toISOString(),
    message: text,
    stream,
    input: { type: 'container' },
    kubernetes: { namespace: 'spark-jobs', pod: { name: `${app}-exec-${executor}` }, labels: { 'spark-app-selector': app, 'spark-exec-id': executor, 'spark-role': 'executor' } },
  };
  return {
    partition,
    message: { partition, value: JSON.stringify(event), ...(i % 3 === 0 ? { key: `spark/${app}/${executor}` } : {}) },
    expected: { kind: 'line', app, executor, stream, text },
  };
}

describe('log-archiver crash safety', () => {
  it(`keeps every record exactly once when the consuming process is SIGKILLed ${KILLS} times at random points`, { timeout: 120_000 }, async () => {
    const random = rng(SEED);
    const topic = unique('crash');
    const group = unique('crash-archiver');
    await kafka.createTopic(topic, PARTITIONS);

    // Offsets per partition follow the produce order: one producer, one send at a time.
    const byPartition: Expected[][] = Array.from({ length: PARTITIONS }, () => []);
    // One producer, sends of 200 records per partition, codecs in turn: about 270 record batches.
    const produceRange = async (from: number, to: number) => {
      registerCompressionCodecs();
      const producer = new Kafka({ brokers: kafka.brokers, clientId: 'crash-producer', logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      try {
        for (let start = from; start < to; start += SEND_RECORDS) {
          const made = Array.from({ length: Math.min(SEND_RECORDS, to - start) }, (_, k) => recordFor(start + k));
          for (const r of made) byPartition[r.partition]!.push(r.expected);
          const compression = (start / SEND_RECORDS) % 3 === 0 ? CompressionTypes.None : (start / SEND_RECORDS) % 3 === 1 ? CompressionTypes.GZIP : CompressionTypes.Snappy;
          await producer.send({ topic, messages: made.map((r) => r.message), compression });
        }
      } finally {
        await producer.disconnect();
      }
    };
    await produceRange(0, RECORDS / 2);

    const env = {
      ...process.env,
      SPARKFN_STORE: `file://${dir}`,
      SPARKFN_KAFKA_BROKERS: kafka.brokers.join(','),
      SPARKFN_KAFKA_TOPICS: topic,
      SPARKFN_KAFKA_GROUP: group,
      SPARKFN_LOG_LEVEL: 'warn',
    };
    const startChild = async () => {
      const consumerOptions = JSON.stringify({ ...FAST_CONSUMER, maxBytesPerPartition: MAX_BYTES_PER_PARTITION });
      const child = new Child(spawn(process.execPath, ['--import', 'tsx', CHILD, consumerOptions], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
      children.push(child.process);
      await child.until(() => child.ready, 'the child joining its group', START_TIMEOUT_MS);
      return child;
    };

    const delivered: BatchLine[] = [];
    const started: BatchLine[] = [];
    const kills: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const child = await startChild();
      // The second half arrives while the second child consumes.
      const producing = k === 1 ? produceRange(RECORDS / 2, RECORDS) : Promise.resolve();
      // A random point: the n-th batch start (mid-write) or end (written, not committed), plus up to 15 ms.
      const step = random() < 0.5 ? 'start' : 'done';
      const n = 3 + Math.floor(random() * 25);
      const extraMs = Math.floor(random() * 16);
      await child.until(() => child.lines.filter((l) => l.step === step).length >= n, `batch ${step} #${n}`, START_TIMEOUT_MS);
      if (extraMs > 0) await new Promise((r) => setTimeout(r, extraMs));
      child.process.kill('SIGKILL');
      const exit = await Promise.race([child.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit after SIGKILL')), EXIT_TIMEOUT_MS))]);
      expect(exit.signal).toBe('SIGKILL');
      kills.push(`${step} #${n} +${extraMs} ms`);
      delivered.push(...child.lines.filter((l) => l.step === 'done'));
      started.push(...child.lines.filter((l) => l.step === 'start'));
      await producing;
    }

    // The last run consumes to the end, then stops cleanly (commits, leaves the group).
    const last = await startChild();
    const covered = () => {
      const seen = Array.from({ length: PARTITIONS }, () => new Set<number>());
      for (const l of [...delivered, ...last.lines.filter((x) => x.step === 'done')]) for (let o = l.first; o <= l.last; o++) seen[l.partition]!.add(o);
      return seen.every((s, p) => s.size === byPartition[p]!.length);
    };
    await last.until(covered, 'every record archived', 60_000);
    last.process.kill('SIGTERM');
    expect((await Promise.race([last.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit after SIGTERM')), EXIT_TIMEOUT_MS))])).code).toBe(0);
    delivered.push(...last.lines.filter((l) => l.step === 'done'));
    started.push(...last.lines.filter((l) => l.step === 'start'));
    expect(await uncommitted(kafka.brokers, group, topic)).toBe(0);
    const ends = await highWatermarks(kafka.brokers, topic);
    expect(ends).toEqual(byPartition.map((p) => p.length));
    // The kills did cause re-deliveries: more records handed to the archiver than produced.
    const handed = started.reduce((sum, l) => sum + l.records, 0);
    expect(handed, `kills: ${kills.join(', ')}`).toBeGreaterThan(RECORDS);

    // Compact everything, then read the offsets back from the gzip member headers.
    const store = new FileObjectStore(dir);
    const deps = depsFor(store);
    const summary = await compactStreams(await listStreams(store, 'logs/'), deps, resolveSettings({}), 'test');
    expect(summary.failed).toBe(0);

    const found = new Map<string, number>();
    const problems: string[] = [];
    const allKeys = await keys(store);
    for (const key of allKeys) {
      if (key.startsWith('deadletter/')) continue;
      // The index beside each compacted object (checked in log-index.test.ts).
      if (key.endsWith('.log.gz.idx.json') && allKeys.includes(key.slice(0, -'.idx.json'.length))) continue;
      const m = /^logs\/([^/]+)\/([^/]+)\/(stdout|stderr)\.log\.gz$/.exec(key);
      if (!m) {
        problems.push(`unexpected object ${key}`);
        continue;
      }
      const [, app, executor, stream] = m;
      for (const member of readMembers(await getBuffer(store, key), key)) {
        const text = gunzipSync(member.bytes);
        let at = 0;
        member.index.offsets.forEach((offset, i) => {
          const length = member.index.lengths[i]!;
          const line = text.subarray(at, at + length).toString('utf8');
          at += length;
          const id = `${member.index.topic}/${member.index.partition}/${offset}`;
          found.set(id, (found.get(id) ?? 0) + 1);
          const want = byPartition[member.index.partition]?.[offset];
          if (member.index.topic !== topic || !want || want.kind !== 'line') problems.push(`${id} in ${key} was not produced as a line`);
          else if (want.app !== app || want.executor !== executor || want.stream !== stream || want.text + '\n' !== line) problems.push(`${id} in ${key} holds ${JSON.stringify(line)}`);
        });
      }
    }
    const deadKeys = new Set(allKeys.filter((k) => k.startsWith('deadletter/')));
    byPartition.forEach((records, partition) =>
      records.forEach((want, offset) => {
        const id = `${topic}/${partition}/${offset}`;
        const times = found.get(id) ?? 0;
        const dead = deadKeys.delete(deadLetterKey(topic, partition, offset));
        if (want.kind === 'line' && (times !== 1 || dead)) problems.push(`${id} archived ${times} times${dead ? ' and dead-lettered' : ''}`);
        if (want.kind === 'dead' && (times !== 0 || !dead)) problems.push(`${id} should be one dead letter: archived ${times} times, dead letter ${dead}`);
      }),
    );
    for (const key of deadKeys) problems.push(`unexpected dead letter ${key}`);
    expect(problems.slice(0, 20), `kills: ${kills.join(', ')}`).toEqual([]);
    expect([...found.values()].reduce((a, b) => a + b, 0) + allKeys.filter((k) => k.startsWith('deadletter/')).length).toBe(RECORDS);
  });
});

async function highWatermarks(brokers: string[], topic: string): Promise<number[]> {
  const admin = new Kafka({ brokers, clientId: 'crash-admin', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  } finally {
    await admin.disconnect();
  }
}
