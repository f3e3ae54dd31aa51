import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { startServe, type RunningServe } from '../../app/cli/serve.js';
import { signBody, SIGNATURE_HEADER } from '../../shared/http/webhook-auth.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { getBuffer } from '../../shared/store/read.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { silentLogger } from '../../shared/logger.js';
import { loadEvent } from '../support/events.js';

const TOKEN = 'serve-test-token-0123456789';
const SECRET = 'serve-test-secret-0123456789';

const counter: SparkFunction = {
  name: 'counter',
  triggers: ['k8s-events', 'kafka'],
  routes: [{ path: '/counter/', methods: ['GET'], auth: 'public' }],
  async run(input, deps) {
    if (input.kind === 'http') return { status: 200, headers: { 'content-type': 'text/plain' }, body: `hello ${input.path}` };
    const count = input.kind === 'k8s-events' ? input.events.length : input.kind === 'kafka' ? input.records.length : 0;
    await deps.store.put(`counter/${input.kind}.json`, JSON.stringify({ count }));
    return { kind: input.kind, count };
  },
};

let dir: string;
let serve: RunningServe | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-serve-'));
});
afterEach(async () => {
  await serve?.close();
  serve = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function start() {
  const config = loadConfig({ SPARKFN_STORE: `file://${dir}`, SPARKFN_WEBHOOK_TOKEN: TOKEN, SPARKFN_WEBHOOK_HMAC_SECRET: SECRET });
  const deps = createDeps(config, { logger: silentLogger });
  serve = await startServe({ config, functions: [counter], port: 0, host: '127.0.0.1', deps });
  return { url: serve.url, deps };
}

describe('sparkfn serve', () => {
  it('serves a function route, /healthz and /metrics', async () => {
    const { url } = await start();
    expect(await (await fetch(`${url}/counter/abc`)).text()).toBe('hello /counter/abc');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('sparkfn_http_requests_total');
  });

  it('runs a function on a kube-eventer webhook posted to /invoke/<name>', async () => {
    const { url, deps } = await start();
    const body = JSON.stringify(loadEvent('k8s/kube-eventer-webhook'));
    const res = await fetch(`${url}/invoke/counter`, { method: 'POST', headers: { [SIGNATURE_HEADER]: signBody(body, SECRET) }, body });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { kind: string; count: number };
    expect(result.kind).toBe('k8s-events');
    expect(result.count).toBeGreaterThan(0);
    expect(JSON.parse((await getBuffer(deps.store, 'counter/k8s-events.json')).toString()).count).toBe(result.count);
  });

  it('answers 401 to an unsigned call and 400 to malformed JSON or an unknown shape', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/invoke/counter`, { method: 'POST', body: '{}' })).status).toBe(401);
    const bad = await fetch(`${url}/invoke/counter`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{oops' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { reason: string } }).error.reason).toBe('malformed-json');
    const unknown = await fetch(`${url}/invoke/counter`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{"what":"ever"}' });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { reason: string } }).error.reason).toBe('unknown-trigger');
    const nofn = await fetch(`${url}/invoke/nope`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(loadEvent('k8s/event')) });
    expect(nofn.status).toBe(400);
    expect(((await nofn.json()) as { error: { reason: string } }).error.reason).toBe('unknown-function');
  });
});
