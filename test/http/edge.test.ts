import { afterEach, describe, expect, it } from 'vitest';
import { jsonResult, startHttpServer, type Route, type RunningServer } from '../../shared/http/server.js';
import { SIGNATURE_HEADER, signBody } from '../../shared/http/webhook-auth.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { rawRequest, trickle } from './raw-client.js';
import { once } from 'node:events';
import { connect } from 'node:net';
import { DEFAULT_KEEP_ALIVE_TIMEOUT_MS } from '../../shared/http/edge-limits.js';

const TOKEN = 'edge-token-0123456789abcdef';
const SECRET = 'edge-secret-0123456789abcdef';
const LIMITS = { bodyTimeoutMs: 500, headersTimeoutMs: 800, requestTimeoutMs: 3_000, maxConnections: 8, bodyMemoryBytes: 256 * 1024 };
const BODY_LIMIT = 64 * 1024;
/** Long enough that only a server that never answers reaches it. */
const GIVE_UP_MS = 5_000;
/** Scheduling slack on a loaded 2-core machine, over the configured timeouts. */
const SLACK_MS = 1_500;

let bodiesRead = 0;
const hook: Route = {
  path: '/hook',
  methods: ['POST'],
  auth: 'webhook',
  handle: async (input) => {
    bodiesRead++;
    return jsonResult(200, { bytes: input.body.length });
  },
};
const open: Route = { path: '/open', methods: ['POST'], auth: 'public', handle: async (input) => jsonResult(200, { bytes: input.body.length }) };
const broken: Route = {
  path: '/broken',
  methods: ['GET'],
  auth: 'public',
  handle: async () => {
    throw new Error('getaddrinfo ENOTFOUND oss-internal.example.com while reading bucket spark-private-logs');
  },
};

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close(500);
  running = undefined;
  bodiesRead = 0;
});

async function start(): Promise<number> {
  running = await startHttpServer(
    { routes: [hook, open, broken], logger: silentLogger, metrics: new Metrics(), bodyLimitBytes: BODY_LIMIT, limits: LIMITS, auth: { token: TOKEN, hmacSecret: SECRET } },
    0,
    '127.0.0.1',
  );
  return running.port;
}

const head = (path: string, headers: Record<string, string | number>) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

describe('http server edge', () => {
  it('refuses an unauthenticated webhook from its headers alone, before any body byte arrives, and closes', async () => {
    const port = await start();
    const outcome = await rawRequest(port, (s) => s.write(head('/hook', { 'content-length': 1024 * 1024, 'content-type': 'application/json' })), GIVE_UP_MS);
    expect(outcome.status, outcome.response).toBe(401);
    expect(outcome.response).toMatch(/connection: close/i);
    // Answered without waiting for the body (whose timeout is 500 ms), and the connection ended with the answer.
    expect(outcome.answeredAfterMs!).toBeLessThan(LIMITS.bodyTimeoutMs);
    expect(outcome.closedAfterMs).toBeLessThan(GIVE_UP_MS);
    expect(bodiesRead).toBe(0);
  });

  it('refuses a wrong bearer token before reading a body that keeps coming', async () => {
    const port = await start();
    const outcome = await rawRequest(
      port,
      (s) => {
        s.write(head('/hook', { authorization: 'Bearer wrong-token-0123456789', 'transfer-encoding': 'chunked' }));
        trickle(s, 'a\r\n0123456789\r\n'.repeat(100), 20);
      },
      GIVE_UP_MS,
    );
    expect(outcome.status, outcome.response).toBe(401);
    expect(outcome.closedAfterMs).toBeLessThan(GIVE_UP_MS);
  });

  it('answers 408 and closes when a signed webhook body trickles slower than the body timeout', async () => {
    const port = await start();
    const body = '{"a":"' + 'x'.repeat(90) + '"}';
    const outcome = await rawRequest(
      port,
      (s) => {
        s.write(head('/hook', { [SIGNATURE_HEADER]: signBody(body, SECRET), 'content-length': body.length }));
        trickle(s, body, 100);
      },
      GIVE_UP_MS,
    );
    expect(outcome.status, outcome.response).toBe(408);
    expect(outcome.answeredAfterMs!).toBeGreaterThanOrEqual(LIMITS.bodyTimeoutMs - 50);
    expect(outcome.closedAfterMs).toBeLessThan(LIMITS.bodyTimeoutMs + SLACK_MS);
    expect(bodiesRead).toBe(0);
  });

  it('answers 408 to a slow body on a public route too', async () => {
    const port = await start();
    const outcome = await rawRequest(port, (s) => {
      s.write(head('/open', { 'content-length': 50 }));
      trickle(s, 'y'.repeat(50), 200);
    }, GIVE_UP_MS);
    expect(outcome.status, outcome.response).toBe(408);
    expect(outcome.closedAfterMs).toBeLessThan(LIMITS.bodyTimeoutMs + SLACK_MS);
  });

  it('answers 408 to a chunk declared as FFFFFFFFFF whose bytes never come, within the body timeout', async () => {
    const port = await start();
    const outcome = await rawRequest(port, (s) => s.write(head('/hook', { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' }) + 'FFFFFFFFFF\r\nabc'), GIVE_UP_MS);
    expect(outcome.status, outcome.response).toBe(408);
    expect(outcome.closedAfterMs).toBeLessThan(LIMITS.bodyTimeoutMs + SLACK_MS);
  });

  it('answers 413 when a chunk declared as FFFFFFFFFF does bring its bytes', async () => {
    const port = await start();
    const outcome = await rawRequest(
      port,
      (s) => {
        s.write(head('/hook', { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' }) + 'FFFFFFFFFF\r\n');
        s.write('z'.repeat(BODY_LIMIT + 1024));
      },
      GIVE_UP_MS,
    );
    expect(outcome.status, outcome.response).toBe(413);
    expect(outcome.closedAfterMs).toBeLessThan(GIVE_UP_MS);
  });

  it('answers 400 and closes when a chunk size overflows 64 bits (node:http’s parser)', async () => {
    const port = await start();
    const outcome = await rawRequest(port, (s) => s.write(head('/open', { 'transfer-encoding': 'chunked' }) + 'FFFFFFFFFFFFFFFFFFFF\r\n'), GIVE_UP_MS);
    expect(outcome.status, outcome.response).toBe(400);
    expect(outcome.closedAfterMs).toBeLessThan(SLACK_MS);
  });

  it('closes a connection whose headers never finish, within the headers timeout', async () => {
    const port = await start();
    const outcome = await rawRequest(port, (s) => s.write('POST /open HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '), GIVE_UP_MS);
    expect([408, undefined]).toContain(outcome.status);
    expect(outcome.closedAfterMs).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
  });

  it('closes connections over the cap as soon as they are accepted', async () => {
    const port = await start();
    // Each holds a connection without sending anything, until the headers timeout ends it.
    const holders = Array.from({ length: LIMITS.maxConnections }, () => rawRequest(port, () => undefined, GIVE_UP_MS));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const over = await rawRequest(port, (s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), GIVE_UP_MS);
    expect(over.status).toBeUndefined();
    expect(over.closedAfterMs).toBeLessThan(LIMITS.headersTimeoutMs);
    await Promise.all(holders);
    const after = await rawRequest(port, (s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), GIVE_UP_MS);
    expect(after.status).toBe(200);
  });

  it('keeps idle keep-alive connections longer than the apiserver does, and closes them to make room at the cap', async () => {
    const port = await start();
    expect(running!.server.keepAliveTimeout).toBe(DEFAULT_KEEP_ALIVE_TIMEOUT_MS);
    // Fill the cap with connections that each finished a request and now sit idle, kept alive.
    const idle = await Promise.all(
      Array.from({ length: LIMITS.maxConnections }, async () => {
        const socket = connect(port, '127.0.0.1');
        const closed = once(socket, 'close');
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        const [first] = (await once(socket, 'data')) as [Buffer];
        expect(first.toString()).toMatch(/^HTTP\/1\.1 200/);
        return { socket, closed };
      }),
    );
    const over = await rawRequest(port, (s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), GIVE_UP_MS);
    expect(over.status).toBeUndefined();
    const bounded = new Promise((_resolve, reject) => setTimeout(() => reject(new Error('idle connections still open')), GIVE_UP_MS).unref());
    await Promise.race([Promise.all(idle.map((c) => c.closed)), bounded]);
    const after = await rawRequest(port, (s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), GIVE_UP_MS);
    expect(after.status).toBe(200);
  });

  it('reads a properly sent signed body and still checks its signature', async () => {
    const port = await start();
    const url = `http://127.0.0.1:${port}/hook`;
    const body = '{"ok":true}';
    expect((await fetch(url, { method: 'POST', headers: { [SIGNATURE_HEADER]: signBody(body, SECRET) }, body })).status).toBe(200);
    expect((await fetch(url, { method: 'POST', headers: { [SIGNATURE_HEADER]: signBody('{"other":1}', SECRET) }, body })).status).toBe(401);
  });

  it('answers an unexpected error with 500 and a request id, never the error’s message', async () => {
    const port = await start();
    const res = await fetch(`http://127.0.0.1:${port}/broken`);
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).toMatch(/request id [0-9a-f-]{36}/);
    expect(text).not.toMatch(/oss-internal|spark-private-logs|ENOTFOUND/);
  });
});
