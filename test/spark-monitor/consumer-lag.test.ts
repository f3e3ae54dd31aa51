import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKafkaConsumer } from '../../shared/kafka/consumer.js';
import { silentLogger } from '../../shared/logger.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { BatchCollector, FAST_CONSUMER, produce, unique } from '../kafka/harness.js';

let kafka: MockKafka;
beforeAll(async () => {
  kafka = await startMockKafka();
});
afterAll(async () => {
  await kafka?.stop();
});

describe('the in-process consumer reports its lag (sparkfn_log_archiver_consumer_lag)', () => {
  it('after each commit, per partition: the records still to read, down to 0 once caught up', async () => {
    const topic = unique('lag');
    // Four sends: four record batches per partition, fetched one at a time (maxBytesPerPartition is tiny).
    for (let send = 0; send < 4; send++) await produce(kafka.brokers, topic, Array.from({ length: 8 }, (_, i) => ({ key: `k-${send}-${i}`, value: `v-${send}-${i}` })));
    const lags: { partition: number; records: number }[] = [];
    const collector = new BatchCollector();
    const consumer = await runKafkaConsumer({
      brokers: kafka.brokers, clientId: 'test', groupId: unique('group'), topics: [topic], fromBeginning: true,
      logger: silentLogger, handler: collector.handler(), ...FAST_CONSUMER, maxBytesPerPartition: 64,
      onLag: ({ partition, records }) => lags.push({ partition, records }),
    });
    await collector.until(32);
    await consumer.stop();

    expect(lags).toHaveLength(collector.batches.length);
    const partitions = [...new Set(lags.map((l) => l.partition))];
    for (const partition of partitions) {
      const seen = lags.filter((l) => l.partition === partition).map((l) => l.records);
      const received = collector.batches.filter((b) => b.records[0]!.partition === partition).map((b) => b.records.length);
      // What is left after each batch is the partition's records minus those handled so far.
      const total = received.reduce((s, n) => s + n, 0);
      expect(seen).toEqual(received.map((_, i) => total - received.slice(0, i + 1).reduce((s, n) => s + n, 0)));
    }
    expect(lags.some((l) => l.records > 0)).toBe(true);
  }, 60_000);
});
