import { gunzipSync } from 'node:zlib';
import { CompressionTypes, type Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fn as archiver } from '../../functions/log-archiver/handler.js';
import { fn as viewer } from '../../functions/log-viewer/handler.js';
import { startServe } from '../../app/cli/serve.js';
import { loadConfig } from '../../shared/config.js';
import { silentLogger } from '../../shared/logger.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { listAll } from '../../shared/store/read.js';
import { DELIVERY_TIMEOUT_MS, FAST_CONSUMER, produce, uncommitted, unique } from '../kafka/harness.js';
import { loadEvent } from '../support/events.js';
import { type MockKafka, startMockKafka } from '../support/kafka-mock.js';
import { type S3rverHarness, startS3rver } from '../support/s3rver.js';
import { filebeatEvent, withIndexes } from './support.js';

let kafka: MockKafka;
let s3: S3rverHarness;
beforeAll(async () => {
  [kafka, s3] = await Promise.all([startMockKafka(), startS3rver()]);
});
afterAll(async () => {
  await Promise.all([kafka?.stop(), s3?.stop()]);
});

const APPS = ['spark-e2e0a1b2c3d4e5f60718293a4b5c6d7e', 'spark-e2e1f0e9d8c7b6a5948372615a4b3c2d'];
const EXECUTORS = ['driver', '1', '2', '3'];
const PARTITIONS = 4;
const TOKEN = 'e2e-webhook-token';

/** A varied Spark line (sometimes a multi-line stack trace, sometimes non-ASCII, sometimes long). */
function sparkLine(app: number, executor: string, i: number): string {
  const time = `25/05/14 02:${String(15 + (i % 40)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;
  switch (i % 7) {
    case 0:
      return `${time} INFO Executor: Running task ${i}.0 in stage ${app}.0 (TID ${i * 3 + app})`;
    case 1:
      return `${time} WARN BlockManager: Putting block rdd_${i}_${executor} failed due to exception java.lang.OutOfMemoryError: Java heap space.`;
    case 2:
      return `${time} ERROR Executor: Exception in task ${i}.0\njava.io.IOException: Connection reset by peer\n\tat sun.nio.ch.FileDispatcherImpl.read0(Native Method)\n\tat org.apache.spark.network.util.TransportFrameDecoder.channelRead(TransportFrameDecoder.java:${100 + i})`;
    case 3:
      return `${time} INFO DAGScheduler: Job ${i} finished: collect at 订单汇总.scala:${i}, took ${(i * 0.137).toFixed(3)} s — ✓`;
    case 4:
      return `Row(order_id=${i}, customer='Zoë Ångström', amount=${(i * 13.37).toFixed(2)})`;
    case 5:
      return `${time} DEBUG CodeGenerator: Code generated in ${i % 97} ms ${'x'.repeat(2000 + i)}`;
    default:
      return `${time} INFO MemoryStore: Block broadcast_${i} stored as values in memory (estimated size ${i * 11}.${i % 10} KiB, free 2004.${i % 10} MiB)`;
  }
}

interface Produced {
  app: string;
  executor: string;
  stream: 'stdout' | 'stderr';
  message: string;
}

/**
 * A Filebeat event for the line, from the container samples: pod labels carry the identity,
 * and half of the records also carry Filebeat's `output.kafka.key` (the README's template).
 * Each executor's records go to one partition, as Filebeat's keyed output does.
 */
function filebeatMessage(p: Produced, i: number): Message {
  const event = filebeatEvent(p.executor === 'driver' ? 'container-driver' : 'container-executor') as {
    '@timestamp': string;
    message: string;
    stream: string;
    kubernetes: { labels: Record<string, string>; pod: { name: string } };
  };
  event['@timestamp'] = new Date(Date.UTC(2025, 4, 14, 2, 15) + i).toISOString();
  event.message = p.message;
  event.stream = p.stream;
  event.kubernetes.labels['spark-app-selector'] = p.app;
  if (p.executor !== 'driver') event.kubernetes.labels['spark-exec-id'] = p.executor;
  event.kubernetes.pod.name = `etl-${p.app.slice(-6)}-${p.executor === 'driver' ? 'driver' : `exec-${p.executor}`}`;
  const partition = (APPS.indexOf(p.app) * EXECUTORS.length + EXECUTORS.indexOf(p.executor)) % PARTITIONS;
  return { partition, value: JSON.stringify(event), ...(i % 2 === 0 ? { key: `spark/${p.app}/${p.executor}` } : {}) };
}

describe('log-archiver end to end: Kafka → sparkfn serve → s3rver → compaction → log-viewer', () => {
  it('serves back, byte for byte, what Filebeat produced, per executor and stream, before and after compaction', { timeout: 90_000 }, async () => {
    const topic = unique('spark-logs');
    const group = unique('log-archiver');
    const bucket = await s3.createBucket();

    // 6 sends, alternating gzip, snappy and no compression: each send is one record batch per partition.
    const produced: Produced[] = [];
    const sends: { messages: Message[]; compression: CompressionTypes }[] = [];
    const codecs = [CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.None];
    for (let send = 0, i = 0; send < 6; send++) {
      const messages: Message[] = [];
      for (let n = 0; n < 70; n++, i++) {
        const p: Produced = { app: APPS[i % 2]!, executor: EXECUTORS[(i >> 1) % EXECUTORS.length]!, stream: i % 5 === 0 ? 'stdout' : 'stderr', message: sparkLine(i % 2, EXECUTORS[(i >> 1) % 4]!, i) };
        produced.push(p);
        messages.push(filebeatMessage(p, i));
      }
      sends.push({ messages, compression: codecs[send % codecs.length]! });
    }
    // The topic exists once something is in it; the rest is produced while serve consumes.
    await produce(kafka.brokers, topic, sends[0]!.messages, sends[0]!.compression);

    const config = loadConfig({
      ...s3.storeEnv(bucket, 'archive'),
      SPARKFN_KAFKA_BROKERS: kafka.brokers.join(','),
      SPARKFN_KAFKA_TOPICS: topic,
      SPARKFN_KAFKA_GROUP: group,
      SPARKFN_WEBHOOK_TOKEN: TOKEN,
    });
    const deps = createDeps(config, { logger: silentLogger });

    // The real archiver, observed: which records it has archived (its run resolved) so far.
    const archived = new Set<string>();
    let notify = () => {};
    const observed: SparkFunction = {
      ...archiver,
      async run(input, d) {
        const result = await archiver.run(input, d);
        if (input.kind === 'kafka') for (const r of input.records) archived.add(`${r.partition}/${r.offset}`);
        notify();
        return result;
      },
    };
    const serve = await startServe({ config, functions: [observed, viewer], port: 0, host: '127.0.0.1', deps, kafkaConsumer: FAST_CONSUMER });
    try {
      for (const { messages, compression } of sends.slice(1)) await produce(kafka.brokers, topic, messages, compression);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${archived.size} of ${produced.length} records were archived`)), DELIVERY_TIMEOUT_MS);
        notify = () => archived.size >= produced.length && (clearTimeout(timer), resolve());
        notify();
      });
      expect(archived.size).toBe(produced.length);

      const get = async (path: string) => {
        const res = await fetch(`${serve.url}${path}`);
        return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
      };
      const streams = new Map<string, Produced[]>();
      for (const p of produced) {
        const id = `${p.app}/${p.executor}/${p.stream}`;
        streams.set(id, [...(streams.get(id) ?? []), p]);
      }
      expect(streams.size).toBe(APPS.length * EXECUTORS.length * 2);
      const expectAllServed = async () => {
        for (const [id, lines] of streams) {
          const expected = Buffer.from(lines.map((p) => `${p.message}\n`).join(''), 'utf8');
          const text = await get(`/logs/${id}`);
          expect(text.status, id).toBe(200);
          expect(text.type).toBe('text/plain; charset=utf-8');
          expect(text.bytes.equals(expected), `${id}: ${text.bytes.length} bytes served, ${expected.length} produced`).toBe(true);
          const download = await get(`/logs/${id}?download=1`);
          expect(gunzipSync(download.bytes).equals(expected), `${id} download`).toBe(true);
          const tail = await get(`/logs/${id}?tail=2`);
          // Text lines, not records: a multi-line message is several lines.
          expect(tail.bytes.toString('utf8')).toBe(expected.toString('utf8').split(/(?<=\n)/).slice(-2).join(''));
        }
      };

      // Before compaction: from the chunks.
      await expectAllServed();
      const chunks = (await keysUnder(deps, 'logs/')).filter((k) => /\/(stdout|stderr)\/[^/]+\.log\.gz$/.test(k));
      expect(chunks.length).toBeGreaterThanOrEqual(streams.size);

      // Each app ends: its driver pod Succeeded, posted the way a watch event arrives at /invoke.
      for (const app of APPS) {
        const event = loadEvent('k8s/pod-watch-event') as { object: { metadata: { labels: Record<string, string> } } };
        event.object.metadata.labels['spark-app-selector'] = app;
        const res = await fetch(`${serve.url}/invoke/log-archiver`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(event),
        });
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ kind: 'compaction', trigger: 'app-end', compacted: EXECUTORS.length * 2, failed: 0, dropped: 0 });
      }
      const after = await keysUnder(deps, 'logs/');
      expect(after.sort()).toEqual(withIndexes([...streams.keys()].map((id) => `logs/${id}.log.gz`)));

      // After compaction: from one object per stream, still byte for byte.
      await expectAllServed();
      expect((await get(`/logs/${APPS[0]}/9/stderr`)).status).toBe(404);
    } finally {
      await serve.close();
    }
    expect(await uncommitted(kafka.brokers, group, topic)).toBe(0);
  });
});

async function keysUnder(deps: { store: Parameters<typeof listAll>[0] }, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of listAll(deps.store, prefix)) out.push(o.key);
  return out;
}
