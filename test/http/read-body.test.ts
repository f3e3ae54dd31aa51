import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyBudget } from '../../shared/http/body-budget.js';
import { readBody } from '../../shared/http/read-body.js';

const LIMIT = 64 * 1024;
const TIMEOUT_MS = 1_000;

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server that reads each request's body against `budget` and answers what happened. */
async function serveWith(budget: BodyBudget): Promise<number> {
  server = createServer((req, res) => {
    readBody(req, { limit: LIMIT, timeoutMs: TIMEOUT_MS, budget }).then(
      ({ body, release }) => {
        release();
        res.end(JSON.stringify({ bytes: body.length }));
      },
      (err: Error) => res.end(JSON.stringify({ error: err.name })),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function send(port: number, method: string, headers: Record<string, string | number>, body?: string): Promise<{ bytes?: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(JSON.parse(text) as never));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('readBody with the body memory budget used up by others', () => {
  it('answers a request without a body (no length, no chunking) at once, reserving nothing', async () => {
    const budget = new BodyBudget(LIMIT);
    const held = await budget.reserve(LIMIT, new AbortController().signal);
    const port = await serveWith(budget);
    expect(await send(port, 'GET', {})).toEqual({ bytes: 0 });
    expect(budget.inUse).toBe(LIMIT);
    held();
  });

  it('still makes a chunked body wait for room, up to the body timeout', async () => {
    const budget = new BodyBudget(LIMIT);
    const held = await budget.reserve(LIMIT, new AbortController().signal);
    const port = await serveWith(budget);
    expect(await send(port, 'POST', { 'transfer-encoding': 'chunked' }, 'abc')).toEqual({ error: 'BodyTimeoutError' });
    held();
    expect(await send(port, 'POST', { 'transfer-encoding': 'chunked' }, 'abc')).toEqual({ bytes: 3 });
  });
});
