import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { describe, it } from 'vitest';
import { runKafkaConsumer } from '../../shared/kafka/consumer.js';
import { silentLogger } from '../../shared/logger.js';
import { MOCK_DEFAULT_PARTITIONS, MockKafkaError, startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { BatchCollector, FAST_CONSUMER, unique } from './harness.js';

async function partitionCount(mock: MockKafka, topic: string): Promise<number | undefined> {
  const admin = new Kafka({ brokers: mock.brokers, clientId: 'test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length;
  } finally {
    await admin.disconnect();
  }
}

describe.concurrent('startMockKafka', () => {
  it('starts the kcat mock cluster, whose topics get 4 partitions, and stops it', async ({ expect }) => {
    const mock = await startMockKafka({ brokers: 3 });
    try {
      expect(mock.brokers).toHaveLength(3);
      const topic = unique('default');
      await mock.createTopic(topic, MOCK_DEFAULT_PARTITIONS);
      expect(await partitionCount(mock, topic)).toBe(MOCK_DEFAULT_PARTITIONS);
      await expect(mock.createTopic(unique('six'), 6)).rejects.toThrow(/host: 'python3'/);
    } finally {
      await mock.stop();
    }
    await mock.stop();
  });

  it('creates a topic with 6 partitions on the python3 host, and a consumer group reads all of them', async ({ expect }) => {
    const mock = await startMockKafka({ host: 'python3' });
    try {
      const topic = unique('six');
      await mock.createTopic(topic, 6);
      expect(await partitionCount(mock, topic)).toBe(6);

      const producer = new Kafka({ brokers: mock.brokers, clientId: 'test', logLevel: logLevel.NOTHING }).producer({
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      const sent = await producer.send({ topic, messages: [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, value: `p${partition}` })) });
      await producer.disconnect();
      expect(sent.map((r) => r.partition).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      await expect(mock.createTopic(topic, 6)).rejects.toThrow(/already exists/i);

      const collector = new BatchCollector();
      const consumer = await runKafkaConsumer({
        brokers: mock.brokers, clientId: 'test', groupId: unique('group'), topics: [topic], fromBeginning: true,
        logger: silentLogger, handler: collector.handler(), ...FAST_CONSUMER,
      });
      await collector.until(6);
      await consumer.stop();
      expect(collector.records().map((r) => r.partition).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await mock.stop();
    }
  });

  it('says how to install kcat when it is missing', async ({ expect }) => {
    const error = await startMockKafka({ kcatPath: '/nonexistent/kcat' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MockKafkaError);
    expect((error as Error).message).toMatch(/npm test.*apt-get install -y kcat/);
  });
});
