import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run as archiverRun } from '../../functions/log-archiver/handler.js';
import { fn } from '../../functions/log-viewer/handler.js';
import { type RunningServer, type Route, startHttpServer } from '../../shared/http/server.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import { APP_ID, batch, depsFor, executorLine, record, tempStore } from '../log-archiver/support.js';

/**
 * Spark's ExecutorLogUrlHandler (core/src/main/scala/org/apache/spark/executor/ExecutorLogUrlHandler.scala),
 * step for step: every `{{NAME}}` but FILE_NAME must be an executor attribute, or Spark keeps the
 * original log URLs; FILE_NAME needs the LOG_FILES attribute, and yields one URL per entry of
 * LOG_FILES split on `,` (not trimmed), keyed by that entry.
 */
function applySparkPattern(pattern: string, attributes: Record<string, string>): Record<string, string> | undefined {
  const all = new Set([...pattern.matchAll(/\{\{([A-Za-z0-9_-]+)\}\}/g)].map((m) => m[1] as string));
  const exceptFileName = [...all].filter((p) => p !== 'FILE_NAME');
  const keys = Object.keys(attributes).filter((k) => k !== 'LOG_FILES');
  if (exceptFileName.some((p) => !keys.includes(p))) return undefined;
  if (all.has('FILE_NAME') && attributes.LOG_FILES === undefined) return undefined;
  const url = exceptFileName.reduce((u, p) => u.split(`{{${p}}}`).join(attributes[p] as string), pattern);
  if (!all.has('FILE_NAME')) return { log: url };
  return Object.fromEntries((attributes.LOG_FILES as string).split(',').map((file) => [file, url.split('{{FILE_NAME}}').join(file)]));
}

/**
 * The attributes a Kubernetes executor reports: SPARK_EXECUTOR_ATTRIBUTE_* environment variables,
 * the prefix cut and the rest upper-cased (CoarseGrainedExecutorBackend.extractAttributes). Spark
 * sets APP_ID and EXECUTOR_ID itself when spark.ui.custom.executor.log.url is set
 * (BasicExecutorFeatureStep); LOG_FILES comes from spark.executorEnv.SPARK_EXECUTOR_ATTRIBUTE_LOG_FILES.
 */
function executorAttributes(env: Record<string, string>): Record<string, string> {
  const prefix = 'SPARK_EXECUTOR_ATTRIBUTE_';
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length).toUpperCase(), v]));
}

let store: FileObjectStore;
let cleanup: () => Promise<void>;
let server: RunningServer;

beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  const deps = depsFor(store);
  const routes: Route[] = (fn.routes ?? []).map((route) => ({ ...route, handle: (input, context) => fn.run(input, { ...deps, signal: context.signal }) }));
  server = await startHttpServer({ routes, logger: silentLogger, metrics: new Metrics(), bodyLimitBytes: 1 << 20, auth: {} }, 0, '127.0.0.1');
});
afterEach(async () => {
  await server.close(0);
  await cleanup();
});

describe('log-viewer from the Spark UI', () => {
  it('serves every URL Spark makes from spark.ui.custom.executor.log.url', async () => {
    const records = [];
    let offset = 0;
    for (const executorId of ['1', '2']) {
      for (const stream of ['stdout', 'stderr'] as const) {
        records.push(record(offset++, executorLine(`${stream} of executor ${executorId}`, { executorId, stream })));
      }
    }
    await archiverRun(batch(records), depsFor(store), {});

    const pattern = `${server.url}/logs/{{APP_ID}}/{{EXECUTOR_ID}}/{{FILE_NAME}}`;
    for (const executorId of ['1', '2']) {
      const env = {
        SPARK_EXECUTOR_ATTRIBUTE_APP_ID: APP_ID,
        SPARK_EXECUTOR_ATTRIBUTE_EXECUTOR_ID: executorId,
        SPARK_EXECUTOR_ATTRIBUTE_LOG_FILES: 'stdout,stderr',
        SPARK_USER: 'spark',
      };
      const urls = applySparkPattern(pattern, executorAttributes(env));
      expect(Object.keys(urls ?? {})).toEqual(['stdout', 'stderr']);
      for (const [file, url] of Object.entries(urls!)) {
        expect(url).toBe(`${server.url}/logs/${APP_ID}/${executorId}/${file}`);
        const res = await fetch(url);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(await res.text()).toBe(`${file} of executor ${executorId}\n`);
        const tail = await fetch(`${url}?tail=1`);
        expect(await tail.text()).toBe(`${file} of executor ${executorId}\n`);
      }
    }
  });

  it('keeps Spark’s own links when an attribute is missing, as Spark does', () => {
    expect(applySparkPattern('https://v/logs/{{APP_ID}}/{{EXECUTOR_ID}}/{{FILE_NAME}}', { APP_ID: 'a', EXECUTOR_ID: '1' })).toBeUndefined();
    expect(applySparkPattern('https://v/logs/{{APP_ID}}/{{POD_NAME}}', { APP_ID: 'a', LOG_FILES: 'stdout' })).toBeUndefined();
    expect(applySparkPattern('https://v/logs/{{APP_ID}}/{{EXECUTOR_ID}}/stderr', { APP_ID: 'a', EXECUTOR_ID: '1' })).toEqual({ log: 'https://v/logs/a/1/stderr' });
  });

  it('answers a URL for an executor that left no log with 404 and a reason', async () => {
    await archiverRun(batch([record(0, executorLine('x'))]), depsFor(store), {});
    const res = await fetch(`${server.url}/logs/${APP_ID}/99/stderr`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { reason: 'unknown-executor' } });
    const escape = await fetch(`${server.url}/logs/${APP_ID}/..%2F..%2Fdeadletter/stderr`);
    expect(escape.status).toBe(400);
  });
});
