import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import kafkajs, { type Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPRESSION, registerCompressionCodecs, type CompressionName } from '../../shared/kafka/codecs.js';
import { runKafkaConsumer } from '../../shared/kafka/consumer.js';
import { silentLogger } from '../../shared/logger.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { BatchCollector, FAST_CONSUMER, produce, unique } from './harness.js';

/** kcat runs to completion in well under a second against the mock; this only stops a wedged one. */
const KCAT_TIMEOUT_MS = 10_000;
const LZ4_FRAME_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18]);

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

let kafka: MockKafka;
beforeAll(async () => {
  kafka = await startMockKafka();
});
afterAll(async () => {
  await kafka?.stop();
});

async function kcat(args: string[], input = ''): Promise<string> {
  const run = promisify(execFile)('kcat', ['-b', kafka.brokers.join(','), ...args], { timeout: KCAT_TIMEOUT_MS });
  run.child.stdin?.end(input);
  return (await run).stdout;
}

async function consumeAll(topic: string, count: number): Promise<BatchCollector> {
  const collector = new BatchCollector();
  const consumer = await runKafkaConsumer({
    brokers: kafka.brokers, clientId: 'test', groupId: unique('group'), topics: [topic], fromBeginning: true,
    logger: silentLogger, handler: collector.handler(), ...FAST_CONSUMER,
  });
  try {
    await collector.until(count);
  } finally {
    await consumer.stop();
  }
  return collector;
}

describe('registerCompressionCodecs', () => {
  it('installs snappy and lz4 once, however often it is called', () => {
    registerCompressionCodecs();
    const before = { ...kafkajs.CompressionCodecs };
    registerCompressionCodecs();
    expect(kafkajs.CompressionCodecs).toEqual(before);
  });

  it.each(['snappy', 'lz4'] as const)('%s compresses and decompresses arbitrary bytes', async (name) => {
    registerCompressionCodecs();
    const codecs = kafkajs.CompressionCodecs as Record<number, () => Codec>;
    const codec = codecs[COMPRESSION[name]]!();
    const data = Buffer.concat([randomBytes(70_000), Buffer.alloc(70_000, 'spark executor log line\n')]);
    const compressed = await codec.compress({ buffer: data });
    expect(compressed.length).toBeLessThan(data.length);
    if (name === 'lz4') expect(compressed.subarray(0, 4)).toEqual(LZ4_FRAME_MAGIC);
    expect(await codec.decompress(compressed)).toEqual(data);
  });
});

describe.concurrent.each(['snappy', 'lz4'] as const satisfies readonly CompressionName[])('%s batches', (name) => {
  it('round-trip keys, values and headers byte for byte from kafkajs through the consumer', async ({ expect }) => {
    const topic = unique(`${name}-bytes`);
    // One partition, so that the records come back in the order they were sent.
    const messages: Message[] = [
      ...Array.from({ length: 20 }, (_, i) => ({
        key: randomBytes(16),
        value: Buffer.concat([randomBytes(200), Buffer.alloc(2_000, `line ${i}\n`)]),
        headers: { 'content-type': Buffer.from('application/x-ndjson'), trace: randomBytes(8) },
      })),
      { key: null, value: Buffer.alloc(0) },
      { key: Buffer.from('deleted-app'), value: null },
    ].map((message) => ({ ...message, partition: 0 }));
    await produce(kafka.brokers, topic, messages, COMPRESSION[name]);

    const records = (await consumeAll(topic, messages.length)).records();
    expect(records.map(({ key, value, headers }) => ({ key, value, headers }))).toEqual(
      messages.map(({ key, value, headers }) => ({ key, value, headers: headers ?? {} })),
    );
  });

  it('read what librdkafka compressed, and librdkafka reads what kafkajs compressed', async ({ expect }) => {
    const topic = unique(`${name}-interop`);
    const line = (i: number) => `stdout ${i} `.repeat(40);
    // kcat -> our consumer (librdkafka skips compression that does not shrink a batch: values repeat).
    const kcatInput = [0, 1, 2, 3, 4].map((i) => `exec-${i}:${line(i)}\n`).join('');
    await kcat(['-P', '-t', topic, '-z', name, '-K', ':', '-H', 'stream=stdout'], kcatInput);
    // kafkajs -> kcat.
    const fromKafkajs = [5, 6, 7, 8, 9].map((i) => ({ key: `exec-${i}`, value: line(i), headers: { stream: 'stdout' } }));
    await produce(kafka.brokers, topic, fromKafkajs, COMPRESSION[name]);

    const records = (await consumeAll(topic, 10)).records();
    expect(records.map((r) => `${r.key?.toString()}:${r.value?.toString()}`).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `exec-${i}:${line(i)}`).sort(),
    );
    expect(records.every((r) => r.headers.stream?.toString() === 'stdout')).toBe(true);

    const printed = await kcat(['-C', '-t', topic, '-e', '-q', '-f', '%k:%s|%h\n']);
    expect(printed.trim().split('\n').sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `exec-${i}:${line(i)}|stream=stdout`).sort(),
    );
  });
});
