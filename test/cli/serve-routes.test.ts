import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fn as jobCost } from '../../functions/job-cost/handler.js';
import { compactApp, run as archiverRun } from '../../functions/log-archiver/handler.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import { fn as logViewer } from '../../functions/log-viewer/handler.js';
import { startServe, type RunningServe } from '../../app/cli/serve.js';
import { loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { silentLogger } from '../../shared/logger.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { listAll } from '../../shared/store/read.js';
import { closedPort } from '../support/closed-port.js';
import { loadEvent } from '../support/events.js';
import { APP_ID, batch, executorLine, record } from '../log-archiver/support.js';
import { fixture } from '../job-cost/support.js';

const TOKEN = 'serve-routes-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const LOG = `/logs/${APP_ID}/1/stderr`;

let dir: string;
let serve: RunningServe | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-serve-routes-'));
});
afterEach(async () => {
  await serve?.close();
  serve = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<{ url: string; deps: Deps }> {
  const config = loadConfig({ SPARKFN_STORE: `file://${dir}`, SPARKFN_WEBHOOK_TOKEN: TOKEN, ...env });
  const deps = createDeps(config, { logger: silentLogger });
  serve = await startServe({ config, functions: [logViewer, jobCost], port: 0, host: '127.0.0.1', deps, probeEveryMs: 200 });
  return { url: serve.url, deps };
}

/** Executor 1's stderr, archived and compacted: `lines` lines of random hex, so the gzip object is larger than one file read. */
async function archiveLog(deps: Deps, lines: number): Promise<string> {
  const text = Array.from({ length: lines }, () => randomBytes(48).toString('hex'));
  await archiverRun(batch(text.map((line, i) => record(i, executorLine(line)))), deps, {});
  await compactApp(APP_ID, deps, DEFAULT_SETTINGS);
  return text.map((line) => `${line}\n`).join('');
}

const openFds = () => readdirSync('/proc/self/fd').length;

describe('sparkfn serve routes', () => {
  it('answers POST /job-cost/app-end with the run summary, and writes the record', async () => {
    const { url, deps } = await start();
    // An app end with nothing to cost it from is a failure (503): give it Spark's own event log.
    const appId = 'application_1578436911597_0052';
    await deps.store.put(`spark-events/${appId}`, await fixture(appId));
    const body = JSON.stringify({ appId, namespace: 'spark-jobs', endTime: '2020-01-11T17:44:05Z' });
    const res = await fetch(`${url}/job-cost/app-end`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as { recorded: number; records: { key: string }[] };
    expect(summary.recorded).toBe(1);
    const keys = [];
    for await (const o of listAll(deps.store, 'costs/')) keys.push(o.key);
    expect(keys).toEqual([summary.records[0]!.key]);
  });

  it('answers 400 to an app end without an appId, and 401 without credentials', async () => {
    const { url } = await start();
    const bad = await fetch(`${url}/job-cost/app-end`, { method: 'POST', headers: auth, body: JSON.stringify({ namespace: 'spark-jobs' }) });
    expect(bad.status).toBe(400);
    expect((await fetch(`${url}/job-cost/app-end`, { method: 'POST', body: '{}' })).status).toBe(401);
  });

  it('closes the log object after a HEAD: no file descriptor is left open per request', async () => {
    const { url, deps } = await start();
    await archiveLog(deps, 4000);
    const get = await fetch(`${url}${LOG}`);
    expect(get.status).toBe(200);
    await get.text();
    const before = openFds();
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${url}${LOG}`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    }
    // The client's own keep-alive sockets come and go; 40 leaked files would not.
    expect(openFds() - before).toBeLessThan(10);
  });

  it('answers POST /invoke/log-viewer with the log text itself', async () => {
    const { url, deps } = await start();
    const text = await archiveLog(deps, 50);
    const event = loadEvent('lambda/http-api-v2') as { rawQueryString: string; queryStringParameters: Record<string, string> };
    // The sample asks for the last 200 lines; all 50 are wanted here.
    event.rawQueryString = '';
    event.queryStringParameters = {};
    const res = await fetch(`${url}/invoke/log-viewer`, { method: 'POST', headers: auth, body: JSON.stringify(event) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await res.text()).toBe(text);
  });

  it('answers 400 unknown-function to /invoke/%25zz: the path is decoded once', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/invoke/%25zz`, { method: 'POST', headers: auth, body: JSON.stringify(loadEvent('k8s/event')) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { reason: string } }).error.reason).toBe('unknown-function');
  });

  it('keeps the store’s endpoint and bucket out of a public route’s 500, and /readyz says the store is down', async () => {
    const port = await closedPort();
    const { url } = await start({
      SPARKFN_STORE: 's3://sparkfn-private-bucket/prefix',
      SPARKFN_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      SPARKFN_S3_FORCE_PATH_STYLE: 'true',
      SPARKFN_S3_ACCESS_KEY_ID: 'test',
      SPARKFN_S3_SECRET_ACCESS_KEY: 'test',
    });
    const res = await fetch(`${url}/logs/${APP_ID}`);
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).toMatch(/request id/);
    expect(text).not.toContain('sparkfn-private-bucket');
    expect(text).not.toContain(String(port));
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { status: string; components: Record<string, { up: boolean; reason?: string }> };
    expect(body.status).toBe('not-ready');
    expect(body.components['store']?.up).toBe(false);
    expect(JSON.stringify(body)).not.toContain(String(port));
  });

  it('is ready once the store answers, and shows each part and the process on /metrics', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    let ready = await fetch(`${url}/readyz`);
    for (let i = 0; i < 50 && ready.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await fetch(`${url}/readyz`);
    }
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { components: Record<string, { up: boolean }> }).components['store']?.up).toBe(true);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^sparkfn_component_up\{component="store"\} 1$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });
});
