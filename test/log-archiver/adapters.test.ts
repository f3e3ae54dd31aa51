import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as archiverFc } from '../../functions/log-archiver/fc.js';
import { handler as archiverLambda } from '../../functions/log-archiver/lambda.js';
import { handler as viewerFc } from '../../functions/log-viewer/fc.js';
import { handler as viewerLambda } from '../../functions/log-viewer/lambda.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { loadEvent, loadEventBytes } from '../support/events.js';
import { APP_ID, keys, tempStore } from './support.js';

// The platform entry points read their configuration from the environment, as in production.
let store: FileObjectStore;
let cleanup: () => Promise<void>;
const saved = process.env.SPARKFN_STORE;
beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  process.env.SPARKFN_STORE = `file://${store.dir}`;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.SPARKFN_STORE;
  else process.env.SPARKFN_STORE = saved;
  await cleanup();
});

const lambdaContext = { getRemainingTimeInMillis: () => 60_000 };

describe('log-archiver and log-viewer behind their platform adapters', () => {
  it.each(['lambda/self-managed-kafka', 'lambda/msk', 'local/kafka'])('archives the Kafka sample %s through the Lambda adapter', async (name) => {
    const summary = await archiverLambda(loadEvent(name), lambdaContext);
    expect(summary).toMatchObject({ kind: 'archive', records: 3, archived: 3, chunks: 2, deadLettered: 0 });
  });

  it.each(['fc/eventbridge-kafka', 'fc/eventbridge-kafka-strings', 'fc/eventbridge-kafka-rawdata'])('archives the Kafka sample %s through the FC adapter (event as a Buffer)', async (name) => {
    const summary = await archiverFc(loadEventBytes(name), { function: { timeout: 60 } });
    expect(summary).toMatchObject({ kind: 'archive', records: 3, archived: 3, deadLettered: 0 });
    expect(await keys(store, `logs/${APP_ID}/`)).toEqual([
      `logs/${APP_ID}/1/stderr/spark-logs-0-00000000000000001283-00000000000000001284.log.gz`,
      `logs/${APP_ID}/2/stdout/spark-logs-2-00000000000000000977-00000000000000000977.log.gz`,
    ]);
  });

  it('serves the archived lines to the Lambda HTTP API sample (?tail=200)', async () => {
    const response = (await viewerLambda(loadEvent('lambda/http-api-v2'), lambdaContext)) as { statusCode: number; body: string; isBase64Encoded: boolean; headers: Record<string, string> };
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    const text = Buffer.from(response.body, response.isBase64Encoded ? 'base64' : 'utf8').toString();
    expect(text).toBe(
      '25/05/14 02:15:02 INFO Executor: Running task 3.0 in stage 1.0 (TID 7)\n' +
        '25/05/14 02:15:04 WARN BlockManager: Putting block rdd_12_3 failed due to exception java.lang.OutOfMemoryError: Java heap space.\n',
    );
  });

  it('serves a byte range to the FC HTTP sample (?start=0&end=65535)', async () => {
    const response = (await viewerFc(loadEventBytes('fc/http'), {})) as { statusCode: number; body: string; isBase64Encoded: boolean; headers: Record<string, string> };
    expect(response.statusCode).toBe(206);
    const text = Buffer.from(response.body, response.isBase64Encoded ? 'base64' : 'utf8').toString();
    expect(text).toBe('orders partition 2025-05-13/part-00007: 48211 rows, 3 rejected (missing customer_id)\n');
    expect(response.headers['content-range']).toBe(`bytes 0-${Buffer.byteLength(text) - 1}/${Buffer.byteLength(text)}`);
  });

  it('compacts on the Lambda schedule sample and on the Spark operator event', async () => {
    expect(await archiverLambda(loadEvent('lambda/schedule'), lambdaContext)).toMatchObject({ kind: 'compaction', trigger: 'idle' });
    const summary = await archiverLambda(loadEvent('k8s/event'), lambdaContext);
    expect(summary).toMatchObject({ kind: 'compaction', trigger: 'app-end', compacted: 2, failed: 0 });
    expect(gunzipSync(await getBuffer(store, `logs/${APP_ID}/2/stdout.log.gz`)).toString()).toMatch(/^orders partition/);
  });
});
