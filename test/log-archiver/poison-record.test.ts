import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveSummary } from '../../functions/log-archiver/archive-batch.js';
import { deadLetterKey, type DeadLetter } from '../../functions/log-archiver/dead-letter.js';
import { run } from '../../functions/log-archiver/handler.js';
import { runKafkaConsumer } from '../../shared/kafka/consumer.js';
import { silentLogger } from '../../shared/logger.js';
import type { KafkaBatchInput } from '../../shared/platform/trigger.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { DELIVERY_TIMEOUT_MS, FAST_CONSUMER, committedOffsets, produce, unique } from '../kafka/harness.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { APP_ID, depsFor, executorLine, keys, linesOf, tempStore, text } from './support.js';

/**
 * Issue #14 end to end: librdkafka's mock cluster (kcat), the kafkajs consumer `sparkfn serve`
 * runs, log-archiver's core and the filesystem store. The poison record's chunk cannot be written:
 * an object at `logs/<its app>` makes every key under it a path through a file, which the store
 * refuses on every attempt, exactly as a bad key on a real volume does.
 */
const RECORDS = 1_000;
const POISON_OFFSET = 500;
const POISON_APP = 'spark-poison';
const ATTEMPTS = 3;
const SETTINGS = { maxRecordAttempts: ATTEMPTS, retryBaseDelayMs: 5 };

let kafka: MockKafka;
let store: FileObjectStore;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  kafka = await startMockKafka();
});
afterAll(async () => {
  await kafka?.stop();
});
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(async () => cleanup());

const lineOf = (i: number) => `line ${i}`;

async function produceRecords(topic: string): Promise<void> {
  await produce(
    kafka.brokers,
    topic,
    Array.from({ length: RECORDS }, (_, i) => ({
      partition: 0,
      value: i === POISON_OFFSET ? executorLine('the poison line', { appId: POISON_APP }) : executorLine(lineOf(i)),
    })),
  );
}

/** Runs the consumer with log-archiver on `target` until `done(batch)` says so, then stops it; resolves to every delivery. */
async function consume(topic: string, groupId: string, target: FileObjectStore, done: (deliveries: Delivery[]) => boolean): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const consumer = await runKafkaConsumer({
    brokers: kafka.brokers, clientId: 'test', groupId, topics: [topic], fromBeginning: true, logger: silentLogger, ...FAST_CONSUMER,
    handler: async (batch: KafkaBatchInput) => {
      const delivery: Delivery = { first: Number(batch.records[0]!.offset), last: Number(batch.records.at(-1)!.offset) };
      deliveries.push(delivery);
      try {
        delivery.summary = (await run(batch, depsFor(target), SETTINGS)) as ArchiveSummary;
      } catch (err) {
        delivery.error = String(err);
        throw err;
      } finally {
        if (done(deliveries)) finish();
      }
    },
  });
  try {
    await Promise.race([
      finished,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`not done after ${deliveries.length} deliveries: ${JSON.stringify(deliveries.slice(-3))}`)), DELIVERY_TIMEOUT_MS).unref()),
    ]);
  } finally {
    // stop() lets the batch in the handler finish and commit.
    await consumer.stop();
  }
  return deliveries;
}

interface Delivery {
  first: number;
  last: number;
  summary?: ArchiveSummary;
  error?: string;
}

describe('log-archiver behind the Kafka consumer, with a record that fails every time', () => {
  it('dead-letters the one failing record among 1,000 after the configured attempts, archives the other 999 and commits past it', async () => {
    const topic = unique('poison');
    const groupId = unique('group');
    await store.put(`logs/${POISON_APP}`, 'in the way of every key under it');
    await produceRecords(topic);

    const deliveries = await consume(topic, groupId, store, (all) => all.some((d) => d.last === RECORDS - 1 && d.summary));

    // The poison record was handled once: its batch succeeded on the first delivery.
    expect(deliveries.filter((d) => d.first <= POISON_OFFSET && d.last >= POISON_OFFSET)).toHaveLength(1);
    expect(deliveries.every((d) => d.error === undefined)).toBe(true);
    const letter = JSON.parse((await getBuffer(store, deadLetterKey(topic, 0, POISON_OFFSET))).toString('utf8')) as DeadLetter;
    expect(letter).toMatchObject({ reason: 'write-failed', attempts: ATTEMPTS, offset: String(POISON_OFFSET), partition: 0, topic });
    expect(letter.detail).toMatch(/could not be written after 3 attempt\(s\).*collides with another key/);
    expect(letter.value).toContain('the poison line');
    expect(await keys(store, 'deadletter/')).toEqual([deadLetterKey(topic, 0, POISON_OFFSET)]);

    const archived: string[] = [];
    for (const key of await keys(store, `logs/${APP_ID}/`)) archived.push(...linesOf(await text(store, key)));
    const expected = Array.from({ length: RECORDS }, (_, i) => i).filter((i) => i !== POISON_OFFSET).map(lineOf);
    expect(archived.sort()).toEqual(expected.sort());
    expect((await committedOffsets(kafka.brokers, groupId, topic)).get(0)).toBe(String(RECORDS));
  });

  it('dead-letters nothing and commits nothing while the store fails every write; the batch is delivered again', async () => {
    const topic = unique('down');
    const groupId = unique('group');
    await produceRecords(topic);
    // A store whose folder is a file: every write fails, for every key.
    const down = new FileObjectStore(join(store.dir, 'down'));
    await writeFile(down.dir, 'not a folder');

    const deliveries = await consume(topic, groupId, down, (all) => all.filter((d) => d.error).length >= 3);

    expect(deliveries.every((d) => d.first === 0 && d.error !== undefined)).toBe(true);
    expect(deliveries[0]!.error).toMatch(/store is failing|could not be written/);
    expect(await keys(store)).toEqual(['down']);
    expect((await committedOffsets(kafka.brokers, groupId, topic)).get(0) ?? '-1').toBe('-1');
  });
});
