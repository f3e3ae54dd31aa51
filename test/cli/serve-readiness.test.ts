import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe, type RunningServe } from '../../app/cli/serve.js';
import { loadConfig } from '../../shared/config.js';
import { ComponentDownError } from '../../shared/health/readiness.js';
import { createDeps } from '../../shared/platform/runtime.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { selfSignedCertificate } from '../support/apiserver/tls.js';
import { get } from 'node:https';
import { writeFile } from 'node:fs/promises';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { startServeChild, type ServeChild } from '../support/serve-child.js';
import { produce, unique } from '../kafka/harness.js';

/** How long the tests let a part stay down before the process must end. */
const EXIT_WINDOW_SECONDS = 4;
/** Bounds for each wait, so that a regression fails instead of hanging. */
const READY_TIMEOUT_MS = 40_000;
/** kafkajs' retries (about 9 s) or the consumer's staleness (5 heartbeats of 3 s) notice a dead broker; then the readiness check's own second. */
const NOTICE_TIMEOUT_MS = 20_000;

let dir: string | undefined;
let kafka: MockKafka | undefined;
let child: ServeChild | undefined;
let apiserver: TestApiserver | undefined;
let serve: RunningServe | undefined;
afterEach(async () => {
  await child?.stop();
  await serve?.close();
  await kafka?.stop();
  await apiserver?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  child = serve = kafka = apiserver = dir = undefined;
});

async function readyz(url: string): Promise<{ status: number; body: { status: string; components: Record<string, { up: boolean; reason?: string }> } }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

/** Polls `probe` every 100 ms until it returns true; fails after `timeoutMs` with `what`. */
async function until(probe: () => Promise<boolean> | boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('sparkfn serve readiness', () => {
  it('fails /readyz within seconds of the Kafka brokers dying, then exits non-zero within the window', async () => {
    kafka = await startMockKafka();
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-readiness-'));
    const topic = unique('readiness');
    await produce(kafka.brokers, topic, [{ key: 'k', value: 'v' }]);
    child = await startServeChild({
      SPARKFN_STORE: `file://${dir}`,
      SPARKFN_KAFKA_BROKERS: kafka.brokers.join(','),
      SPARKFN_KAFKA_TOPICS: topic,
      SPARKFN_KAFKA_GROUP: unique('readiness-group'),
      SPARKFN_UNREADY_EXIT_SECONDS: String(EXIT_WINDOW_SECONDS),
      SPARKFN_LOG_LEVEL: 'info',
    });
    const { url } = child;
    let last = await readyz(url);
    await until(async () => (last = await readyz(url)).status === 200, READY_TIMEOUT_MS, () => `ready: ${JSON.stringify(last.body)}`);
    expect(last.body.components['kafka-consumer']?.up).toBe(true);

    await kafka.stop();
    const killedAt = performance.now();
    await until(async () => (last = await readyz(url).catch(() => last)).status === 503, NOTICE_TIMEOUT_MS, () => `not ready: ${JSON.stringify(last.body)}`);
    const noticedAfterMs = performance.now() - killedAt;
    expect(last.body.components['kafka-consumer']?.up).toBe(false);

    const exit = await Promise.race([
      child.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running:\n${child!.output().slice(-3000)}`)), EXIT_WINDOW_SECONDS * 1000 + 15_000).unref()),
    ]);
    expect(exit.code, child.output().slice(-3000)).toBe(1);
    // Down for longer than the window, and not much longer: the check runs every second; closing takes the rest.
    const exitedAfterDownMs = exit.atMs - killedAt - noticedAfterMs;
    expect(exitedAfterDownMs).toBeLessThan(EXIT_WINDOW_SECONDS * 1000 + 5_000);
    expect(child.output()).toMatch(/kafka-consumer part has been down for more than 4 s/);
    console.log(`readiness: /readyz failed ${Math.round(noticedAfterMs)} ms after the brokers died; the process exited ${exit.code} ${Math.round(exit.atMs - killedAt)} ms after`);
  }, 120_000);

  it('is not ready when the apiserver refuses the watch (wrong token): one log line, the refusals counted, then exit', async () => {
    apiserver = await startTestApiserver();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(...String(chunk).trim().split('\n')), done()) }));
    const watcher: SparkFunction = { name: 'watcher', triggers: ['k8s-objects'], watches: [{ path: '/api/v1/pods', labelSelector: 'spark-role=driver' }], run: async () => ({}) };
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-readiness-'));
    // Election off: this is about the watch's own refusal (a leader-election part would report the same token first).
    const config = loadConfig({ SPARKFN_STORE: `file://${dir}`, SPARKFN_UNREADY_EXIT_SECONDS: String(EXIT_WINDOW_SECONDS), SPARKFN_LEADER_ELECTION: 'off' });
    const deps = createDeps(config, { logger });
    serve = await startServe({ config, functions: [watcher], port: 0, host: '127.0.0.1', deps, kubeConfig: apiserver.kubeConfig({ token: 'not-the-token' }), probeEveryMs: 200 });
    const { url } = serve;
    const refusals = async () => Number(/^sparkfn_watch_refused_total\{path="\/api\/v1\/pods"\} (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
    // The watch retries with backoff (0.4–0.8 s, then 0.8–1.6 s…): three refusals in a few seconds.
    await until(async () => (await refusals()) >= 3, READY_TIMEOUT_MS, () => 'three refusals');
    const ready = await readyz(url);
    expect(ready.status).toBe(503);
    const part = ready.body.components['watch /api/v1/pods?labelSelector=spark-role=driver'];
    expect(part).toMatchObject({ up: false, reason: 'the apiserver refused the watch (401)' });
    const refusedLines = lines.filter((l) => l.includes('refused the watch'));
    expect(refusedLines, lines.join('\n')).toHaveLength(1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^sparkfn_component_up\{component="watch \/api\/v1\/pods\?labelSelector=spark-role=driver"\} 0$/m);
    await expect(serve.failed).rejects.toBeInstanceOf(ComponentDownError);
  }, 60_000);

  it('is ready with the right token', async () => {
    apiserver = await startTestApiserver();
    const watcher: SparkFunction = { name: 'watcher', triggers: ['k8s-objects'], watches: [{ path: '/api/v1/pods' }], run: async () => ({}) };
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-readiness-'));
    const config = loadConfig({ SPARKFN_STORE: `file://${dir}` });
    serve = await startServe({ config, functions: [watcher], port: 0, host: '127.0.0.1', deps: createDeps(config, { logger: pino({ level: 'silent' }) }), kubeConfig: apiserver.kubeConfig(), probeEveryMs: 200 });
    let last = await readyz(serve.url);
    await until(async () => (last = await readyz(serve!.url)).status === 200, READY_TIMEOUT_MS, () => `ready: ${JSON.stringify(last.body)}`);
    expect(Object.keys(last.body.components).sort()).toEqual(['leader-election', 'store', 'watch /api/v1/pods']);
  }, 60_000);

  it('reports the TLS certificate as a part when serving HTTPS', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-readiness-'));
    const certificate = await selfSignedCertificate();
    await writeFile(join(dir, 'tls.crt'), certificate.cert);
    await writeFile(join(dir, 'tls.key'), certificate.key);
    const config = loadConfig({ SPARKFN_STORE: `file://${dir}/store`, SPARKFN_TLS_CERT_FILE: join(dir, 'tls.crt'), SPARKFN_TLS_KEY_FILE: join(dir, 'tls.key') });
    serve = await startServe({ config, functions: [], port: 0, host: '127.0.0.1', deps: createDeps(config, { logger: pino({ level: 'silent' }) }), probeEveryMs: 200 });
    const fetchReady = () =>
      new Promise<{ status: number; body: { components: Record<string, { up: boolean }> } }>((resolve, reject) => {
        get(`${serve!.url}/readyz`, { ca: certificate.cert }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
        }).on('error', reject);
      });
    let last = await fetchReady();
    await until(async () => (last = await fetchReady()).status === 200, READY_TIMEOUT_MS, () => `ready: ${JSON.stringify(last.body)}`);
    expect(last.body.components['tls']?.up).toBe(true);
  }, 60_000);
});
