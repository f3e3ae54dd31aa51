import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { startServe } from '../../app/cli/serve.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { silentLogger } from '../../shared/logger.js';
import { listAll } from '../../shared/store/read.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { DELIVERY_TIMEOUT_MS, produce, uncommitted, unique } from '../kafka/harness.js';

let kafka: MockKafka;
let dir: string;
beforeAll(async () => {
  kafka = await startMockKafka();
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-serve-kafka-'));
});
afterAll(async () => {
  await kafka?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('sparkfn serve with Kafka brokers configured', () => {
  it('feeds every Kafka function from its consumer group and commits what they handled', async () => {
    const topic = unique('serve');
    const group = unique('serve-group');
    const wanted = 12;
    let seen = 0;
    let reached!: () => void;
    const allSeen = new Promise<void>((resolve) => (reached = resolve));
    const writer: SparkFunction = {
      name: 'writer',
      triggers: ['kafka'],
      async run(input, deps) {
        if (input.kind !== 'kafka') throw new Error('kafka only');
        for (const r of input.records) await deps.store.put(`seen/${r.topic}/${r.partition}/${r.offset}`, r.value ?? '');
        seen += input.records.length;
        if (seen >= wanted) reached();
        return { records: input.records.length };
      },
    };
    // The topic exists once something is produced to it; produce first so the group finds it.
    await produce(kafka.brokers, topic, [{ key: 'k0', value: 'v0' }]);
    const config = loadConfig({
      SPARKFN_STORE: `file://${dir}`,
      SPARKFN_KAFKA_BROKERS: kafka.brokers.join(','),
      SPARKFN_KAFKA_TOPICS: topic,
      SPARKFN_KAFKA_GROUP: group,
    });
    const deps = createDeps(config, { logger: silentLogger });
    const serve = await startServe({ config, functions: [writer], port: 0, host: '127.0.0.1', deps });
    try {
      await produce(kafka.brokers, topic, Array.from({ length: wanted - 1 }, (_, i) => ({ key: `k${i + 1}`, value: `v${i + 1}` })));
      await Promise.race([
        allSeen,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${seen} of ${wanted} records arrived`)), DELIVERY_TIMEOUT_MS).unref()),
      ]);
    } finally {
      await serve.close();
    }
    const keys = [];
    for await (const o of listAll(deps.store, `seen/${topic}/`)) keys.push(o.key);
    expect(keys).toHaveLength(wanted);
    expect(await uncommitted(kafka.brokers, group, topic)).toBe(0);
  });
});
