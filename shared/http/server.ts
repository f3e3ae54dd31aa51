import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { InvalidInputError, NotFoundError, RangeNotSatisfiableError, errorMessage } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { decodeRequestPath } from '../platform/http-event.js';
import type { HttpInput, HttpResult } from '../platform/trigger.js';
import { webhookAuthProblem, type WebhookAuthOptions } from './webhook-auth.js';

/** How long shutdown waits for in-flight requests before cutting connections. */
export const SHUTDOWN_GRACE_MS = 10_000;

export interface RouteContext {
  /** The parsed body, for routes with `json: true`. */
  json?: unknown;
  /** Aborted when the client goes away or the server shuts down. */
  signal: AbortSignal;
}

export interface Route {
  /** An exact path (`/healthz`) or a prefix ending in `/` (`/logs/`). */
  path: string;
  methods: readonly string[];
  /** `webhook` routes need a bearer token or an HMAC signature; `public` ones do not. */
  auth: 'webhook' | 'public';
  /** Parse the body as JSON first: malformed JSON answers 400 without calling the handler. */
  json?: boolean;
  handle(input: HttpInput, context: RouteContext): Promise<HttpResult>;
}

export interface HttpServerOptions {
  routes: readonly Route[];
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
  auth: WebhookAuthOptions;
  /** PEM certificate and key: serve HTTPS (admission webhooks must). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface RunningServer {
  server: Server;
  /** `http://127.0.0.1:PORT` (or https). */
  url: string;
  port: number;
  close(graceMs?: number): Promise<void>;
}

/** An error answered as JSON `{ error: { reason, message } }`. */
export function errorResult(status: number, reason: string, message: string): HttpResult {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ error: { reason, message } }),
  };
}

/** A JSON response. */
export function jsonResult(status: number, value: unknown): HttpResult {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(value) };
}

function matchRoute(routes: readonly Route[], path: string): Route | undefined {
  let best: Route | undefined;
  for (const route of routes) {
    const hit = route.path.endsWith('/') ? path.startsWith(route.path) || path === route.path.slice(0, -1) : path === route.path;
    if (hit && (!best || route.path.length > best.path.length)) best = route;
  }
  return best;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function toInput(req: IncomingMessage, body: Buffer): HttpInput {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = decodeRequestPath(url.pathname);
  if (path === undefined) throw new InvalidInputError(`The path ${JSON.stringify(url.pathname.slice(0, 200))} is not valid percent-encoding.`, 'malformed-path');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    kind: 'http',
    source: 'sparkfn-serve',
    method: req.method ?? 'GET',
    path,
    query: Object.fromEntries(url.searchParams),
    headers,
    body,
  };
}

function resultForError(err: unknown, logger: Logger): HttpResult {
  if (err instanceof InvalidInputError) return errorResult(400, err.reason, err.message);
  if (err instanceof NotFoundError) return errorResult(404, 'not-found', err.message);
  if (err instanceof RangeNotSatisfiableError) {
    const result = errorResult(416, 'range-not-satisfiable', err.message);
    result.headers!['content-range'] = `bytes */${err.size}`;
    return result;
  }
  logger.error({ err }, 'request failed');
  return errorResult(500, 'internal', `The request failed: ${errorMessage(err)}`);
}

async function send(res: ServerResponse, result: HttpResult): Promise<void> {
  res.statusCode = result.status;
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  const body = result.body;
  if (body === undefined) return void res.end();
  if (typeof body === 'string' || Buffer.isBuffer(body)) return void res.end(body);
  const stream = body instanceof Readable ? body : Readable.from(body as AsyncIterable<Buffer>);
  await new Promise<void>((resolve) => {
    stream.once('error', () => {
      // Headers are gone already: all we can do is cut the response so the client sees it incomplete.
      res.destroy();
      resolve();
    });
    res.once('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

/**
 * The one HTTP server of `sparkfn serve`: per-function routes, `/healthz`, `/metrics`, a body
 * limit (413), webhook authentication (401), JSON errors with a reason, graceful shutdown.
 * @example
 * const running = await startHttpServer({ routes, logger, metrics, bodyLimitBytes: 1 << 20, auth: { token } }, 8080, '127.0.0.1');
 */
export async function startHttpServer(options: HttpServerOptions, port: number, host: string): Promise<RunningServer> {
  const { logger, metrics } = options;
  const requests = metrics.counter('http_requests_total', 'HTTP requests by route and status.', ['route', 'status']);
  const latency = metrics.histogram('http_request_duration_seconds', 'HTTP request latency by route.', ['route']);
  const shutdown = new AbortController();
  let closing = false;
  const builtin: Route[] = [
    {
      path: '/healthz',
      methods: ['GET', 'HEAD'],
      auth: 'public',
      handle: async () => jsonResult(200, { status: 'ok' }),
    },
    {
      path: '/metrics',
      methods: ['GET'],
      auth: 'public',
      handle: async () => ({ status: 200, headers: { 'content-type': metrics.contentType }, body: await metrics.text() }),
    },
  ];
  const routes = [...builtin, ...options.routes];

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = matchRoute(routes, path);
    const label = route?.path ?? 'unmatched';
    const client = new AbortController();
    res.once('close', () => client.abort());
    let result: HttpResult;
    try {
      if (!route) {
        result = errorResult(404, 'no-route', `No route for ${path}.`);
      } else if (!route.methods.includes(req.method ?? '')) {
        result = errorResult(405, 'method-not-allowed', `${req.method} is not allowed on ${route.path}; use ${route.methods.join(' or ')}.`);
        result.headers!['allow'] = route.methods.join(', ');
      } else {
        const body = await readBody(req, options.bodyLimitBytes);
        const input = toInput(req, body);
        const problem = route.auth === 'webhook' ? webhookAuthProblem(input.headers, body, options.auth) : undefined;
        if (problem) {
          result = errorResult(401, 'unauthorized', `Unauthorized: ${problem}.`);
          result.headers!['www-authenticate'] = 'Bearer';
        } else {
          const context: RouteContext = { signal: AbortSignal.any([client.signal, shutdown.signal]) };
          if (route.json) context.json = parseJson(body);
          result = await route.handle(input, context);
        }
      }
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        result = errorResult(413, 'body-too-large', `The request body is larger than ${options.bodyLimitBytes} bytes.`);
        // Stop reading the rest of an oversized body: answer, then close the connection.
        result.headers!['connection'] = 'close';
      } else {
        result = resultForError(err, logger);
      }
    }
    // Once shutdown began, a kept-alive connection would hold close() open until its timeout.
    if (closing) res.setHeader('connection', 'close');
    await send(res, result);
    requests.inc({ route: label, status: String(result.status) });
    latency.observe({ route: label }, (performance.now() - started) / 1000);
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res).catch((err) => {
      logger.error({ err }, 'response failed');
      res.destroy();
    });
  };
  const server = options.tls ? createHttps({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttp(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `${options.tls ? 'https' : 'http'}://${shownHost}:${address.port}`;
  logger.info({ url, routes: routes.map((r) => r.path) }, 'listening');

  return {
    server,
    url,
    port: address.port,
    close: (graceMs = SHUTDOWN_GRACE_MS) =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          shutdown.abort();
          server.closeAllConnections();
        }, graceMs);
        timer.unref();
        server.once('close', () => clearTimeout(timer));
      }),
  };
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new InvalidInputError('The request body is empty; a JSON document was expected.', 'malformed-json');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidInputError(`The request body is not valid JSON: ${errorMessage(err)}.`, 'malformed-json');
  }
}
