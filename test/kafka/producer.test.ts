import { afterAll, beforeAll, describe, it } from 'vitest';
import { KafkaUnavailableError } from '../../shared/kafka/client.js';
import { runKafkaConsumer } from '../../shared/kafka/consumer.js';
import { KafkaPublisher } from '../../shared/kafka/producer.js';
import { silentLogger } from '../../shared/logger.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { BatchCollector, FAST_CONSUMER, unique } from './harness.js';
import { closedPort } from '../support/closed-port.js';

/** The deadline the failure cases give the first connection, and the slack allowed on top of it. */
const CONNECT_TIMEOUT_MS = 2_000;
const SLACK_MS = 1_500;

let kafka: MockKafka;
beforeAll(async () => {
  kafka = await startMockKafka();
});
afterAll(async () => {
  await kafka?.stop();
});


describe.concurrent('KafkaPublisher', () => {
  it('publishes messages that a consumer then reads, keys, values and headers intact', async ({ expect }) => {
    const topic = unique('costs');
    const publisher = new KafkaPublisher({ brokers: kafka.brokers, clientId: 'test', logger: silentLogger, compression: 'lz4' });
    const cost = { appId: 'spark-pi-1', cost: 1.25 };
    try {
      await publisher.publish(topic, [
        { key: 'spark-pi-1', value: JSON.stringify(cost), headers: { 'content-type': 'application/json' } },
        { value: Buffer.from([0, 1, 2, 255]) },
      ]);
      await publisher.publish(topic, []);
    } finally {
      await publisher.close();
    }

    const collector = new BatchCollector();
    const consumer = await runKafkaConsumer({
      brokers: kafka.brokers, clientId: 'test', groupId: unique('group'), topics: [topic], fromBeginning: true,
      logger: silentLogger, handler: collector.handler(), ...FAST_CONSUMER,
    });
    await collector.until(2);
    await consumer.stop();

    const records = collector.records();
    const json = records.find((r) => r.key?.toString() === 'spark-pi-1');
    expect(JSON.parse(json!.value!.toString())).toEqual(cost);
    expect(json!.headers['content-type']?.toString()).toBe('application/json');
    expect(records.find((r) => r.key === null)?.value).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('refuses to publish once closed', async ({ expect }) => {
    const publisher = new KafkaPublisher({ brokers: kafka.brokers, clientId: 'test', logger: silentLogger });
    await publisher.close();
    await expect(publisher.publish(unique('closed'), [{ value: 'x' }])).rejects.toThrow(/closed/);
  });
});

describe.concurrent('unreachable brokers', () => {
  it('make publish fail with KafkaUnavailableError within the connect deadline', async ({ expect }) => {
    const broker = `127.0.0.1:${await closedPort()}`;
    const publisher = new KafkaPublisher({ brokers: [broker], clientId: 'test', logger: silentLogger, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const started = Date.now();
    const error = await publisher.publish('anything', [{ value: 'x' }]).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
    expect(error).toBeInstanceOf(KafkaUnavailableError);
    expect((error as Error).message).toContain(`Could not connect to Kafka at ${broker}`);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).toContain('SPARKFN_KAFKA_BROKERS');
    await publisher.close();
  });

  it('make runKafkaConsumer fail with KafkaUnavailableError within the connect deadline', async ({ expect }) => {
    const broker = `127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const error = await runKafkaConsumer({
      brokers: [broker], clientId: 'test', groupId: unique('group'), topics: ['anything'],
      logger: silentLogger, handler: async () => {}, ...FAST_CONSUMER, connectTimeoutMs: CONNECT_TIMEOUT_MS,
    }).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
    expect(error).toBeInstanceOf(KafkaUnavailableError);
    expect((error as Error).message).toContain(`Could not connect to Kafka at ${broker} within ${CONNECT_TIMEOUT_MS} ms`);
  });
});
