import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runKafkaConsumer } from '../../shared/kafka/consumer.js';
import { silentLogger } from '../../shared/logger.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { BatchCollector, FAST_CONSUMER, capturingLogger, committedOffsets, produce, uncommitted, unique } from './harness.js';

let kafka: MockKafka;
beforeAll(async () => {
  kafka = await startMockKafka();
});
afterAll(async () => {
  await kafka?.stop();
});

const numbered = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ({ key: `key-${from + i}`, value: `record-${from + i}` }));
const values = (collector: BatchCollector) => collector.records().map((r) => r.value?.toString());

describe.concurrent('runKafkaConsumer', () => {
  it('commits what it handled, and a new member of the group resumes right after it', async ({ expect }) => {
    const topic = unique('resume');
    const groupId = unique('group');
    // Three sends: several record batches per partition, so commits happen batch by batch.
    for (const [from, to] of [[0, 10], [10, 20], [20, 30]] as const) await produce(kafka.brokers, topic, numbered(from, to));

    const first = new BatchCollector();
    const { logger, lines } = capturingLogger();
    const consumer1 = await runKafkaConsumer({
      brokers: kafka.brokers, clientId: 'test', groupId, topics: [topic], fromBeginning: true,
      logger, handler: first.handler(), ...FAST_CONSUMER,
    });
    await first.until(30);
    await consumer1.stop();
    await consumer1.done;

    expect(await uncommitted(kafka.brokers, groupId, topic)).toBe(0);
    expect(lines.filter((l) => l.msg === 'kafka batch committed')).toHaveLength(first.batches.length);

    await produce(kafka.brokers, topic, numbered(30, 45));
    const second = new BatchCollector();
    const consumer2 = await runKafkaConsumer({
      brokers: kafka.brokers, clientId: 'test', groupId, topics: [topic], fromBeginning: true,
      logger: silentLogger, handler: second.handler(), ...FAST_CONSUMER,
    });
    await second.until(15);
    await consumer2.stop();

    const expected = (from: number, to: number) => numbered(from, to).map((m) => m.value).sort();
    expect(values(first).sort()).toEqual(expected(0, 30));
    expect(values(second).sort()).toEqual(expected(30, 45));
    expect(await uncommitted(kafka.brokers, groupId, topic)).toBe(0);
    for (const batch of [...first.batches, ...second.batches]) {
      expect(batch).toMatchObject({ kind: 'kafka', source: 'local' });
      const offsets = batch.records.map((r) => Number(r.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(batch.records.map((r) => `${r.topic}/${r.partition}`)).size).toBe(1);
    }
  });

  it('delivers a batch again when the handler throws, and commits it only once handled', async ({ expect }) => {
    const topic = unique('redeliver');
    const groupId = unique('group');
    await produce(kafka.brokers, topic, numbered(0, 12));

    const failed: { partition: number; offsets: string[] }[] = [];
    const committedAtRedelivery: string[] = [];
    const collector = new BatchCollector();
    const consumer = await runKafkaConsumer({
      brokers: kafka.brokers, clientId: 'test', groupId, topics: [topic], fromBeginning: true,
      logger: silentLogger, ...FAST_CONSUMER,
      handler: collector.handler(async (batch) => {
        const partition = batch.records[0]!.partition;
        const offsets = batch.records.map((r) => r.offset);
        if (failed.length === 0) {
          failed.push({ partition, offsets });
          throw new Error('object store unavailable');
        }
        if (partition === failed[0]!.partition && offsets[0] === failed[0]!.offsets[0]) {
          committedAtRedelivery.push((await committedOffsets(kafka.brokers, groupId, topic)).get(partition) ?? 'none');
        }
      }),
    });
    await collector.until(12);
    await consumer.stop();

    const [failure] = failed;
    const redelivered = collector.batches.find((b) => b.records[0]!.partition === failure!.partition);
    expect(redelivered?.records.map((r) => r.offset)).toEqual(failure!.offsets);
    // While the batch was being delivered again, nothing had been committed for its partition.
    expect(committedAtRedelivery).toEqual(['-1']);
    expect(values(collector).sort()).toEqual(numbered(0, 12).map((m) => m.value).sort());
    expect(await uncommitted(kafka.brokers, groupId, topic)).toBe(0);
  });

  it('stops on abort only after the batch in the handler has finished and been committed', async ({ expect }) => {
    const topic = unique('stop');
    const groupId = unique('group');
    await produce(kafka.brokers, topic, numbered(0, 5).map((m) => ({ ...m, partition: 0 })));

    const events: string[] = [];
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const abort = new AbortController();
    const consumer = await runKafkaConsumer({
      brokers: kafka.brokers, clientId: 'test', groupId, topics: [topic], fromBeginning: true,
      logger: silentLogger, signal: abort.signal, ...FAST_CONSUMER,
      handler: async () => {
        entered();
        await released;
        events.push('handled');
      },
    });
    await inHandler;
    abort.abort();
    const stopped = consumer.done.then(() => events.push('stopped'));
    // A negative has no event to await: stopping must still be pending after more than a fetch wait.
    await sleep(FAST_CONSUMER.maxWaitTimeInMs + 300);
    expect(events).toEqual([]);
    release();
    await stopped;

    expect(events).toEqual(['handled', 'stopped']);
    expect(await uncommitted(kafka.brokers, groupId, topic)).toBe(0);
  });
});
