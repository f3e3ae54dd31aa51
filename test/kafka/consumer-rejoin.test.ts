import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKafkaConsumer } from '../../shared/kafka/consumer.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { BatchCollector, FAST_CONSUMER, capturingLogger, produce, uncommitted, unique } from './harness.js';

/** Kafka API keys and error codes, as the protocol numbers them. */
const JOIN_GROUP = 11;
const SYNC_GROUP = 14;
const INVALID_REQUEST = 42;
const GROUP_AUTHORIZATION_FAILED = 30;
const RECORDS = 20;

// Pushed request errors hit the next requests of that API key from any client: one mock per file, tests one at a time.
let kafka: MockKafka;
beforeAll(async () => {
  kafka = await startMockKafka({ host: 'python3' });
});
afterAll(async () => {
  await kafka?.stop();
});

const records = Array.from({ length: RECORDS }, (_, i) => ({ key: `key-${i}`, value: `record-${i}` }));

describe('runKafkaConsumer when the group coordinator refuses it', () => {
  it('joins its group again after a SyncGroup answered INVALID_REQUEST (the mock\'s answer to a late sync) and consumes everything', async () => {
    const topic = unique('rejoin');
    const groupId = unique('group');
    await produce(kafka.brokers, topic, records);
    await kafka.pushRequestErrors(SYNC_GROUP, [INVALID_REQUEST]);
    const collector = new BatchCollector();
    const { logger, lines } = capturingLogger();
    const rejoins: string[] = [];
    const consumer = await runKafkaConsumer({
      brokers: kafka.brokers, clientId: 'test', groupId, topics: [topic], fromBeginning: true,
      logger, handler: collector.handler(), onRejoin: (reason) => rejoins.push(reason), ...FAST_CONSUMER,
    });
    let died: unknown;
    consumer.done.catch((err: unknown) => (died = err));
    await collector.until(RECORDS);
    await consumer.stop();
    await consumer.done;

    expect(died).toBeUndefined();
    expect(rejoins).toEqual(['INVALID_REQUEST']);
    expect(lines.filter((l) => l.msg === 'kafka consumer rejoins its group')).toMatchObject([{ reason: 'INVALID_REQUEST', attempt: 1 }]);
    expect(collector.records().map((r) => r.value?.toString()).sort()).toEqual(records.map((r) => r.value).sort());
    expect(await uncommitted(kafka.brokers, groupId, topic)).toBe(0);
  });

  it('stops for good, rejecting done, on an error a rejoin does not cure (GROUP_AUTHORIZATION_FAILED)', async () => {
    const topic = unique('fatal');
    const groupId = unique('group');
    await produce(kafka.brokers, topic, records);
    await kafka.pushRequestErrors(JOIN_GROUP, [GROUP_AUTHORIZATION_FAILED]);
    const collector = new BatchCollector();
    const rejoins: string[] = [];
    const { logger, lines } = capturingLogger();
    const consumer = await runKafkaConsumer({
      brokers: kafka.brokers, clientId: 'test', groupId, topics: [topic], fromBeginning: true,
      logger, handler: collector.handler(), onRejoin: (reason) => rejoins.push(reason), ...FAST_CONSUMER,
    });
    await expect(consumer.done).rejects.toMatchObject({ type: 'GROUP_AUTHORIZATION_FAILED' });
    await consumer.stop().catch(() => {});
    expect(rejoins).toEqual([]);
    expect(collector.records()).toEqual([]);
    expect(lines.some((l) => l.msg === 'kafka consumer stopped after an error it cannot recover from')).toBe(true);
    expect(await uncommitted(kafka.brokers, groupId, topic)).toBe(RECORDS);
  });
});
