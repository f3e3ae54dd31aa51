import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel, type CompressionTypes, type Message } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { registerCompressionCodecs } from '../../shared/kafka/codecs.js';
import type { KafkaBatchInput, KafkaRecord } from '../../shared/platform/trigger.js';

/**
 * Consumer-group timings for the mock. librdkafka 2.0.2's mock answers the first JoinGroup of an
 * empty group only after a fixed 3 s (its group.initial.rebalance.delay.ms), and once the last
 * member leaves it holds the next generation for sessionTimeout - 1 s. It also expires members
 * that stay silent for a session timeout, including while they wait in that first 3 s join, so
 * 4 s is the shortest session that is safe: a second consumer in the same group then joins in 3 s
 * instead of 29 s. Heartbeats every 500 ms keep well inside it; fetches wait at most 200 ms on an
 * idle partition (the mock holds an empty fetch for the full wait), which also bounds stop(). The
 * mock is local, so a connection that takes 5 s is not coming.
 */
export const FAST_CONSUMER = {
  sessionTimeout: 4_000,
  rebalanceTimeout: 4_000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 200,
  connectTimeoutMs: 5_000,
} as const;

/** How long a test waits for records it produced to come back through a consumer. */
export const DELIVERY_TIMEOUT_MS = 20_000;

/** A fresh topic or group name per test, so that tests never see each other's records or offsets. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Produces with a plain kafkajs producer, one send (one record batch per partition) per call. */
export async function produce(
  brokers: string[],
  topic: string,
  messages: Message[],
  compression?: CompressionTypes,
): Promise<void> {
  registerCompressionCodecs();
  const producer = new Kafka({ brokers, clientId: 'test-producer', logLevel: logLevel.NOTHING }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({ topic, messages, ...(compression !== undefined ? { compression } : {}) });
  } finally {
    await producer.disconnect();
  }
}

/** Committed offset (next to read) per partition for a group, `-1` where nothing is committed. */
export async function committedOffsets(brokers: string[], groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = new Kafka({ brokers, clientId: 'test-admin', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Records of `topic` the group has not committed yet: the sum over partitions of the high
 * watermark minus the committed offset (an empty partition with nothing committed counts 0).
 */
export async function uncommitted(brokers: string[], groupId: string, topic: string): Promise<number> {
  const committed = await committedOffsets(brokers, groupId, topic);
  const admin = new Kafka({ brokers, clientId: 'test-admin', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    return ends.reduce((sum, { partition, high }) => sum + Number(high) - Math.max(0, Number(committed.get(partition) ?? -1)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Records the batches a consumer hands over, and lets a test await a count of records. */
export class BatchCollector {
  readonly batches: KafkaBatchInput[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  /** A handler for `runKafkaConsumer`; `before` may throw to fail a delivery. */
  handler(before?: (batch: KafkaBatchInput) => void | Promise<void>) {
    return async (batch: KafkaBatchInput): Promise<void> => {
      await before?.(batch);
      this.batches.push(batch);
      const total = this.records().length;
      this.waiters = this.waiters.filter((w) => (total >= w.count ? (w.resolve(), false) : true));
    };
  }

  records(): KafkaRecord[] {
    return this.batches.flatMap((b) => b.records);
  }

  /** Resolves once at least `count` records arrived; rejects after `timeoutMs` saying how many did. */
  until(count: number, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<void> {
    if (this.records().length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Only ${this.records().length} of ${count} records arrived within ${timeoutMs} ms.`)),
        timeoutMs,
      );
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** A pino logger whose JSON lines land in `lines`, for asserting on what was logged. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}
