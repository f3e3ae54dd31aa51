import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { SparkfnError, errorMessage } from '../errors.js';
import type { KafkaBatchInput, KafkaRecord } from '../platform/trigger.js';
import { createKafka } from './client.js';

/**
 * Upper bound on the bytes one fetch returns per partition, and so on one handler call: the
 * log archiver gzips a batch in memory. Kafka still returns a single record batch larger than
 * this whole, so that a consumer never gets stuck behind it.
 */
export const DEFAULT_MAX_BYTES_PER_PARTITION = 1024 * 1024;

/**
 * How long a fetch waits on the broker for new data. It also bounds how long `stop()` waits for
 * an idle consumer (kafkajs lets the in-flight fetch finish), so it is kept well under kafkajs'
 * 5 s default; an idle consumer then costs one small request per broker per second.
 */
export const DEFAULT_MAX_WAIT_TIME_MS = 1_000;

/** kafkajs' default heartbeat period, named because the in-handler heartbeat needs the value. */
const KAFKAJS_HEARTBEAT_INTERVAL_MS = 3_000;

/** What `runKafkaConsumer` needs. Timeouts default to kafkajs' (Kafka's) own values. */
export interface KafkaConsumerOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  topics: string[];
  /**
   * Called once per fetched batch of one topic-partition, in offset order. The batch is
   * committed only after this resolves; when it throws, the same records are delivered again.
   */
  handler: (batch: KafkaBatchInput) => Promise<void>;
  logger: Logger;
  /** Where a group without committed offsets starts: the oldest retained record, or (default) only new ones. */
  fromBeginning?: boolean;
  /** Aborting it stops the consumer as `stop()` does; already aborted, nothing is started. */
  signal?: AbortSignal;
  /** Deadline for the first connection; default `DEFAULT_CONNECT_TIMEOUT_MS`. */
  connectTimeoutMs?: number;
  /** Default `DEFAULT_MAX_BYTES_PER_PARTITION`. */
  maxBytesPerPartition?: number;
  /** Default `DEFAULT_MAX_WAIT_TIME_MS`. */
  maxWaitTimeInMs?: number;
  /** How many partitions' batches are handled at the same time (default 1). */
  partitionsConsumedConcurrently?: number;
  /** Group session timeout (kafkajs default 30 s): a member silent this long is dropped and its partitions reassigned. */
  sessionTimeout?: number;
  /** Heartbeat period (kafkajs default 3 s), kept up while the handler runs too. */
  heartbeatInterval?: number;
  /** How long the group waits for members to rejoin during a rebalance (kafkajs default 60 s). */
  rebalanceTimeout?: number;
  /**
   * Told how the consumer is doing, for readiness: `up` on each group join, fetch and heartbeat
   * (the signs of a live broker); `down` on a crash, a disconnect or a stop.
   */
  onStatus?: (status: ConsumerStatus) => void;
  /** Told after each commit how far the partition's committed offset is behind its high watermark (records). */
  onLag?: (lag: { topic: string; partition: number; records: number }) => void;
}

/** What `onStatus` hears. `detail` may name brokers: for logs, not for public answers. */
export type ConsumerStatus = { state: 'up' } | { state: 'down'; reason: string; detail?: string };

/** A running consumer. */
export interface KafkaConsumerHandle {
  /**
   * Stops fetching, lets the batch in the handler finish and commit, leaves the group and
   * disconnects. Idempotent; resolves when all of that is done.
   */
  stop(): Promise<void>;
  /**
   * Resolves once `stop()` has finished; rejects if the consumer died on its own (kafkajs gave up
   * and will not restart it). Transient failures, including a throwing handler, are retried by
   * kafkajs and do not settle it.
   */
  readonly done: Promise<void>;
}

/**
 * The local-mode Kafka trigger used by `sparkfn serve`: joins `groupId`, hands each fetched
 * partition batch to `handler` as a `KafkaBatchInput` (source `local`), and commits the batch's
 * offsets only after the handler resolved. Delivery is at least once: a batch whose handler threw,
 * or whose commit was lost to a rebalance, is delivered again, so handlers must be idempotent
 * (the log archiver's deterministic object keys are).
 *
 * Resolves once the consumer has joined its group; throws `KafkaUnavailableError` when no broker
 * answers within `connectTimeoutMs`.
 *
 * @example
 * const consumer = await runKafkaConsumer({
 *   brokers: ['kafka:9092'], clientId: 'sparkfn', groupId: 'sparkfn-log-archiver', topics: ['spark-logs'],
 *   logger, handler: (batch) => archiver.run(batch, deps).then(() => undefined),
 * });
 * process.once('SIGTERM', () => void consumer.stop());
 */
export async function runKafkaConsumer(options: KafkaConsumerOptions): Promise<KafkaConsumerHandle> {
  const { brokers, groupId, topics, handler, signal } = options;
  signal?.throwIfAborted();
  const logger = options.logger.child({ component: 'kafka-consumer', groupId });
  const heartbeatIntervalMs = options.heartbeatInterval ?? KAFKAJS_HEARTBEAT_INTERVAL_MS;
  const client = createKafka({
    brokers,
    clientId: options.clientId,
    logger: options.logger,
    connectTimeoutMs: options.connectTimeoutMs,
  });
  const consumer = client.kafka.consumer({
    groupId,
    maxBytesPerPartition: options.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? DEFAULT_MAX_WAIT_TIME_MS,
    ...(options.sessionTimeout !== undefined ? { sessionTimeout: options.sessionTimeout } : {}),
    heartbeatInterval: heartbeatIntervalMs,
    ...(options.rebalanceTimeout !== undefined ? { rebalanceTimeout: options.rebalanceTimeout } : {}),
  });

  let settle!: { resolve: () => void; reject: (err: Error) => void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Callers that never look at `done` must not turn a crash into an unhandled rejection.
  done.catch(() => {});

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      logger.warn({ err: errorMessage(payload.error) }, 'kafka consumer crashed; kafkajs restarts it');
      return;
    }
    logger.error({ err: errorMessage(payload.error) }, 'kafka consumer stopped after an error it cannot recover from');
    settle.reject(payload.error);
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const { memberId, memberAssignment, duration } = payload;
    logger.info({ memberId, assignment: memberAssignment, ms: duration }, 'kafka consumer joined its group');
  });
  const { onStatus } = options;
  if (onStatus) {
    const live = () => onStatus({ state: 'up' });
    consumer.on(consumer.events.GROUP_JOIN, live);
    consumer.on(consumer.events.FETCH, live);
    consumer.on(consumer.events.HEARTBEAT, live);
    consumer.on(consumer.events.CRASH, ({ payload }) => onStatus({ state: 'down', reason: 'the consumer crashed', detail: errorMessage(payload.error) }));
    consumer.on(consumer.events.DISCONNECT, () => onStatus({ state: 'down', reason: 'the consumer disconnected' }));
    consumer.on(consumer.events.STOP, () => onStatus({ state: 'down', reason: 'the consumer stopped' }));
  }

  await client.connect(consumer);
  try {
    await consumer.subscribe({ topics, fromBeginning: options.fromBeginning ?? false });
    await consumer.run({
      // Commits happen in eachBatch and nowhere else. With autoCommit on, kafkajs would also commit
      // whatever was resolved when a batch fails, on rebalance and on seek(); harmless while we only
      // resolve after success, but one misplaced resolveOffset away from committing unprocessed
      // records. eachBatchAutoResolve off: kafkajs must not mark a batch done just because it returned.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => handleBatch(payload, { handler, logger, heartbeatIntervalMs, ...(options.onLag ? { onLag: options.onLag } : {}) }),
    });
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    signal?.removeEventListener('abort', onAbort);
    stopping ??= disconnect(consumer, logger).then(settle.resolve, (err: Error) => {
      settle.reject(err);
      throw err;
    });
    return stopping;
  };
  const onAbort = () => void stop().catch(() => {});
  if (signal?.aborted) await stop();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return { stop, done };
}

interface BatchContext {
  handler: KafkaConsumerOptions['handler'];
  logger: Logger;
  heartbeatIntervalMs: number;
  onLag?: KafkaConsumerOptions['onLag'];
}

async function handleBatch(
  { batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets, heartbeat, isRunning, isStale }: EachBatchPayload,
  { handler, logger, heartbeatIntervalMs, onLag }: BatchContext,
): Promise<void> {
  const last = batch.messages.at(-1);
  // Stopping, or the partition was sought elsewhere: leave the records for the next owner.
  if (!last || !isRunning() || isStale()) return;
  const { topic, partition } = batch;
  const records = batch.messages.map((message) => toKafkaRecord(topic, partition, message));
  const summary = { topic, partition, firstOffset: records[0]?.offset, lastOffset: last.offset, records: records.length };
  const started = performance.now();
  // kafkajs heartbeats only between batches: a handler slower than the session timeout (a slow
  // object store) would lose its partitions mid-batch. A failed beat surfaces as a failed commit.
  const beating = setInterval(() => void heartbeat().catch(() => {}), heartbeatIntervalMs);
  try {
    await handler({ kind: 'kafka', source: 'local', records });
  } catch (err) {
    logger.warn({ ...summary, err: errorMessage(err) }, 'kafka batch failed; it will be delivered again');
    // kafkajs stops a consumer for good on a TypeError, RangeError and the like; a failed batch is
    // retried like any other failure instead, so that no record is ever skipped.
    throw new SparkfnError(
      `The Kafka handler failed on ${topic}[${partition}] offsets ${summary.firstOffset}-${summary.lastOffset}: ${errorMessage(err)}`,
      { cause: err },
    );
  } finally {
    clearInterval(beating);
  }
  // kafkajs turns the last record's offset into the batch's end (past trailing control records).
  resolveOffset(last.offset);
  await commitOffsetsIfNecessary(uncommittedOffsets());
  // The committed offset is the next one to read: what is left is the high watermark minus it.
  onLag?.({ topic, partition, records: Math.max(0, Number(batch.highWatermark) - (Number(last.offset) + 1)) });
  logger.info({ ...summary, ms: Math.round(performance.now() - started) }, 'kafka batch committed');
}

async function disconnect(consumer: Consumer, logger: Logger): Promise<void> {
  // kafkajs' disconnect waits for the in-flight fetch and handler, whose commit still goes
  // through, then leaves the group so its partitions move at once instead of after the session timeout.
  await consumer.disconnect();
  logger.info('kafka consumer stopped');
}

/** One kafkajs message as our platform-neutral record. */
export function toKafkaRecord(topic: string, partition: number, message: KafkaMessage): KafkaRecord {
  const timestamp = Number(message.timestamp);
  return {
    topic,
    partition,
    offset: message.offset,
    ...(Number.isFinite(timestamp) && timestamp >= 0 ? { timestamp } : {}),
    key: message.key,
    value: message.value,
    headers: toHeaders(message.headers),
  };
}

/** A header key repeated in one record keeps its last value, as Kafka's Java client's `lastHeader` does. */
function toHeaders(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) out[key] = Buffer.isBuffer(last) ? last : Buffer.from(last);
  }
  return out;
}
