import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { InvalidInputError } from '../../shared/errors.js';
import { jsonResult, startHttpServer, type Route, type RunningServer } from '../../shared/http/server.js';
import { SIGNATURE_HEADER, signBody } from '../../shared/http/webhook-auth.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';

const TOKEN = 'token-0123456789abcdef';
const SECRET = 'secret-0123456789abcdef';
const LIMIT = 1024;

const echoRoute: Route = {
  path: '/echo',
  methods: ['POST'],
  auth: 'webhook',
  json: true,
  handle: async (_input, context) => jsonResult(200, { got: context.json }),
};
const publicRoute: Route = {
  path: '/things/',
  methods: ['GET'],
  auth: 'public',
  handle: async (input) => {
    if (input.path.includes('bad')) throw new InvalidInputError('That thing id is not allowed.', 'unsafe-id');
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: `thing ${input.path.slice(8)} ${input.query['n'] ?? ''}` };
  },
};

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close(1000);
  running = undefined;
});

async function start(auth = { token: TOKEN, hmacSecret: SECRET }) {
  running = await startHttpServer(
    { routes: [echoRoute, publicRoute], logger: silentLogger, metrics: new Metrics(), bodyLimitBytes: LIMIT, auth },
    0,
    '127.0.0.1',
  );
  return running.url;
}

async function call(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined, headers: res.headers };
}

describe('http server', () => {
  it('answers /healthz and exposes /metrics in Prometheus text format', async () => {
    const url = await start();
    expect((await call(`${url}/healthz`)).json).toEqual({ status: 'ok' });
    await call(`${url}/things/a`);
    const metrics = await call(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.text).toMatch(/sparkfn_http_requests_total\{route="\/things\/",status="200"\} 1/);
  });

  it('routes by prefix and passes path and query', async () => {
    const url = await start();
    expect((await call(`${url}/things/abc?n=2`)).text).toBe('thing abc 2');
  });

  it('answers 404 with a reason for an unknown path and 405 for a wrong method', async () => {
    const url = await start();
    const missing = await call(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.json.error.reason).toBe('no-route');
    const wrong = await call(`${url}/things/a`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });

  it('decodes the path as the Lambda and FC adapters do, and refuses broken percent-encoding', async () => {
    const url = await start();
    expect((await call(`${url}/things/a%20b`)).text).toBe('thing a b ');
    expect((await call(`${url}/things/a%2Fb`)).text).toBe('thing a%2Fb ');
    const broken = await call(`${url}/things/%E0%A4%A`);
    expect(broken.status).toBe(400);
    expect(broken.json.error.reason).toBe('malformed-path');
  });

  it('maps an invalid-input error to 400 with its reason', async () => {
    const url = await start();
    const res = await call(`${url}/things/bad`);
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({ reason: 'unsafe-id', message: 'That thing id is not allowed.' });
  });

  it('accepts a webhook with the right bearer token', async () => {
    const url = await start();
    const res = await call(`${url}/echo`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ got: { a: 1 } });
  });

  it('accepts a webhook with the right HMAC-SHA256 signature', async () => {
    const url = await start();
    const body = '{"b":2}';
    const res = await call(`${url}/echo`, { method: 'POST', headers: { [SIGNATURE_HEADER]: signBody(body, SECRET) }, body });
    expect(res.status).toBe(200);
  });

  it.each([
    ['no credentials', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token-at-all' }],
    ['a wrong signature', { [SIGNATURE_HEADER]: signBody('{"other":true}', SECRET) }],
    ['a signature made with another secret', { [SIGNATURE_HEADER]: signBody('{"c":3}', 'another-secret-0123456') }],
  ])('refuses a webhook with %s: 401', async (_name, headers: Record<string, string>) => {
    const url = await start();
    const res = await call(`${url}/echo`, { method: 'POST', headers, body: '{"c":3}' });
    expect(res.status).toBe(401);
    expect(res.json.error.reason).toBe('unauthorized');
  });

  it('fails closed: with no webhook credentials configured every webhook call is 401', async () => {
    const url = await start({} as never);
    const res = await call(`${url}/echo`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' });
    expect(res.status).toBe(401);
    expect(res.json.error.message).toMatch(/SPARKFN_WEBHOOK_TOKEN/);
  });

  it.each(['{not json', '', '{"a":'])('answers 400 to the malformed JSON body %j', async (body) => {
    const url = await start();
    const res = await call(`${url}/echo`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body });
    expect(res.status).toBe(400);
    expect(res.json.error.reason).toBe('malformed-json');
  });

  it('answers 413 to a body over the limit, declared or streamed', async () => {
    const url = await start();
    const big = JSON.stringify({ pad: 'x'.repeat(LIMIT) });
    const declared = await call(`${url}/echo`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: big });
    expect(declared.status).toBe(413);
    expect(declared.json.error.reason).toBe('body-too-large');

    // A chunked body has no Content-Length: the limit must hold while streaming too.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/echo`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write('y'.repeat(LIMIT / 2));
      req.end();
    });
    expect(streamed).toBe(413);
  });

  it('finishes an in-flight request during a graceful shutdown', async () => {
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const slow: Route = {
      path: '/slow',
      methods: ['GET'],
      auth: 'public',
      handle: async () => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
        return jsonResult(200, { done: true });
      },
    };
    running = await startHttpServer({ routes: [slow], logger: silentLogger, metrics: new Metrics(), bodyLimitBytes: LIMIT, auth: {} }, 0, '127.0.0.1');
    const pending = call(`${running.url}/slow`);
    await inside;
    const closing = running.close(5000);
    release();
    expect((await pending).json).toEqual({ done: true });
    await closing;
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
    running = undefined;
  });
});
