import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { InvalidInputError, NotFoundError, RangeNotSatisfiableError, errorMessage } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { decodeRequestPath } from '../platform/http-event.js';
import type { HttpInput, HttpResult } from '../platform/trigger.js';
import { BodyBudget } from './body-budget.js';
import { CONNECTIONS_CHECK_INTERVAL_MS, DEFAULT_EDGE_LIMITS, type EdgeLimits } from './edge-limits.js';
import { BodyTimeoutError, BodyTooLargeError, ClientGoneError, readBody } from './read-body.js';
import { clientCertificateOf } from './client-certificate.js';
import { webhookAuthProblem, webhookHeaderVerdict, type WebhookAuthOptions } from './webhook-auth.js';

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
  /** Timeouts and caps over `DEFAULT_EDGE_LIMITS` (`bodyLimitBytes` above wins over the one here). */
  limits?: Partial<EdgeLimits>;
  auth: WebhookAuthOptions;
  /**
   * PEM certificate and key: serve HTTPS (admission webhooks must). With `clientCa` the server
   * also asks every client for a certificate (without requiring one) and hands routes what it
   * presented as `HttpInput.clientCertificate`, verified against that CA.
   */
  tls?: { cert: string | Buffer; key: string | Buffer; clientCa?: string | Buffer };
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

function headerRecord(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function unauthorized(problem: string): HttpResult {
  const result = errorResult(401, 'unauthorized', `Unauthorized: ${problem}.`);
  result.headers!['www-authenticate'] = 'Bearer';
  return result;
}

function toInput(req: IncomingMessage, body: Buffer): HttpInput {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = decodeRequestPath(url.pathname);
  if (path === undefined) throw new InvalidInputError(`The path ${JSON.stringify(url.pathname.slice(0, 200))} is not valid percent-encoding.`, 'malformed-path');
  const headers = headerRecord(req);
  const clientCertificate = clientCertificateOf(req.socket);
  return {
    kind: 'http',
    source: 'sparkfn-serve',
    method: req.method ?? 'GET',
    path,
    query: Object.fromEntries(url.searchParams),
    headers,
    body,
    ...(clientCertificate ? { clientCertificate } : {}),
    ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
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
  // The message of an unexpected error can name internals (a store's endpoint and bucket): it goes
  // to the log under an id, and the client gets only the id to quote.
  const id = randomUUID();
  logger.error({ err, requestId: id }, 'request failed');
  return errorResult(500, 'internal', `The request failed on the server; the server log has the details under request id ${id}.`);
}

/** The answer to a body that could not be read whole, always closing the connection. */
function resultForBodyError(err: BodyTooLargeError | BodyTimeoutError): HttpResult {
  const result =
    err instanceof BodyTooLargeError
      ? errorResult(413, 'body-too-large', err.message)
      : errorResult(408, 'body-timeout', err.message);
  result.headers!['connection'] = 'close';
  return result;
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
 * The one HTTP server of `sparkfn serve`: per-function routes, `/healthz`, `/metrics`, webhook
 * authentication (401) decided from the headers before any body byte is read (an HMAC signature
 * needs the body: it is read within the limits first), bounded bodies (413 over the limit, 408
 * when slower than the body timeout, a server-wide memory budget), headers and request timeouts
 * and a connection cap (see `EdgeLimits`), JSON errors with a reason (a 500 names only a request
 * id; the details go to the log), graceful shutdown.
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

  const limits: EdgeLimits = { ...DEFAULT_EDGE_LIMITS, ...options.limits, bodyLimitBytes: options.bodyLimitBytes };
  const budget = new BodyBudget(limits.bodyMemoryBytes);
  const bodyOptions = { limit: limits.bodyLimitBytes, timeoutMs: limits.bodyTimeoutMs, budget };

  /** Authenticates from the headers, then reads the body within its bounds; the result when the request stops here. */
  const admit = async (route: Route, req: IncomingMessage): Promise<{ refused: HttpResult } | { body: Buffer; release: () => void }> => {
    const headers = headerRecord(req);
    const verdict = route.auth === 'webhook' ? webhookHeaderVerdict(headers, options.auth) : ({ kind: 'authenticated' } as const);
    if (verdict.kind === 'refused') return { refused: unauthorized(verdict.problem) };
    const { body, release } = await readBody(req, bodyOptions);
    if (verdict.kind === 'needs-body') {
      const problem = webhookAuthProblem(headers, body, options.auth);
      if (problem) {
        release();
        return { refused: unauthorized(problem) };
      }
    }
    return { body, release };
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = matchRoute(routes, path);
    const label = route?.path ?? 'unmatched';
    const client = new AbortController();
    res.once('close', () => client.abort());
    let result: HttpResult;
    let release = () => {};
    try {
      if (!route) {
        result = errorResult(404, 'no-route', `No route for ${path}.`);
      } else if (!route.methods.includes(req.method ?? '')) {
        result = errorResult(405, 'method-not-allowed', `${req.method} is not allowed on ${route.path}; use ${route.methods.join(' or ')}.`);
        result.headers!['allow'] = route.methods.join(', ');
      } else {
        const admitted = await admit(route, req);
        if ('refused' in admitted) {
          result = admitted.refused;
        } else {
          release = admitted.release;
          const input = toInput(req, admitted.body);
          const context: RouteContext = { signal: AbortSignal.any([client.signal, shutdown.signal]) };
          if (route.json) context.json = parseJson(admitted.body);
          result = await route.handle(input, context);
        }
      }
    } catch (err) {
      if (err instanceof ClientGoneError) {
        res.destroy();
        requests.inc({ route: label, status: 'client-gone' });
        return;
      }
      result = err instanceof BodyTooLargeError || err instanceof BodyTimeoutError ? resultForBodyError(err) : resultForError(err, logger);
    }
    // A body nobody read (a refusal, an unknown route) is not drained: the connection ends with the answer.
    if (!req.complete) result.headers = { ...result.headers, connection: 'close' };
    // Once shutdown began, a kept-alive connection would hold close() open until its timeout.
    if (closing) res.setHeader('connection', 'close');
    try {
      await send(res, result);
    } finally {
      release();
    }
    requests.inc({ route: label, status: String(result.status) });
    latency.observe({ route: label }, (performance.now() - started) / 1000);
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res).catch((err) => {
      logger.error({ err }, 'response failed');
      res.destroy();
    });
  };
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_INTERVAL_MS, limits.headersTimeoutMs),
  };
  const tls = options.tls;
  // rejectUnauthorized: false keeps the handshake open to clients without a certificate (kubelet
  // probes, Prometheus); the routes that need one check HttpInput.clientCertificate.
  const clientAuth = tls?.clientCa !== undefined ? { requestCert: true, rejectUnauthorized: false, ca: tls.clientCa } : {};
  const server = tls ? createHttps({ ...serverOptions, cert: tls.cert, key: tls.key, ...clientAuth }, handler) : createHttp(serverOptions, handler);
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // A connection turned away at the cap ('drop') makes room for the next one: idle keep-alive
  // connections cost a slot each for up to keepAliveTimeout and their clients reconnect freely.
  server.on('drop', () => server.closeIdleConnections());
  // Left to node:http: a request line, header or chunk size it cannot parse (one that overflows
  // 64 bits, say) is answered 400 and the connection closed; headers or a request past their
  // timeout are answered 408 and closed.
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
