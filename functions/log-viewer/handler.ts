import { Readable } from 'node:stream';
import type { Deps } from '../../shared/deps.js';
import { InvalidInputError } from '../../shared/errors.js';
import { errorResult, jsonResult } from '../../shared/http/server.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { HttpInput, HttpResult, TriggerInput } from '../../shared/platform/trigger.js';
import { ChunkVanishedError } from '../log-archiver/merge-members.js';
import { listApp } from './app-listing.js';
import { LOGS_ROUTE, type LogPath, parseLogPath } from './log-path.js';
import { type LogQuery, parseLogQuery } from './log-query.js';
import { findLog, logGzip, logRanges, logTail, logText } from './log-sources.js';

const TEXT = 'text/plain; charset=utf-8';

/**
 * log-viewer's core: serves archived executor logs over HTTP GET.
 * - `/logs/<appId>`: JSON, the app's executors and streams with stored sizes and event-time ranges;
 * - `/logs/<appId>/<executorId>/<stdout|stderr>`: the log as text/plain, decompressed, in order,
 *   from the compacted object and any chunks not compacted yet (each Kafka record once);
 *   `?tail=N` the last N lines, `?download=1` the gzip bytes, `?start=&end=` a byte range of
 *   the text (206, or 416 when it starts past the end).
 *
 * Unknown app, executor or log name: 404 with a reason. An id that is not a safe key segment:
 * 400. Spark's UI links here through `spark.ui.custom.executor.log.url` (see README).
 * @example
 * const result = await run({ kind: 'http', source: 'local', method: 'GET', path: '/logs/spark-1a2b/3/stderr', query: { tail: '50' }, headers: {}, body: Buffer.alloc(0) }, deps);
 * // { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', … }, body: <the last 50 lines> }
 */
export async function run(input: TriggerInput, deps: Deps): Promise<HttpResult> {
  if (input.kind !== 'http') throw new InvalidInputError(`log-viewer takes HTTP requests, not ${input.kind} triggers.`, 'wrong-trigger');
  if (input.method !== 'GET' && input.method !== 'HEAD') {
    const result = errorResult(405, 'method-not-allowed', `${input.method} is not allowed here; use GET.`);
    return { ...result, headers: { ...result.headers, allow: 'GET, HEAD' } };
  }
  try {
    const result = await serve(input, deps);
    return input.method === 'HEAD' ? withoutBody(result) : result;
  } catch (err) {
    if (err instanceof InvalidInputError) return errorResult(400, err.reason, err.message);
    throw err;
  }
}

async function serve(input: HttpInput, deps: Deps): Promise<HttpResult> {
  const path = parseLogPath(input.path);
  if (path.kind === 'none') return errorResult(404, 'not-found', `No log at ${input.path}; ask for ${LOGS_ROUTE}<appId> or ${LOGS_ROUTE}<appId>/<executorId>/<stdout|stderr>.`);
  if (path.kind === 'app') {
    const listing = await listApp(deps.store, path.appId);
    return listing ? jsonResult(200, listing) : errorResult(404, 'unknown-app', `Nothing is archived for app ${path.appId}.`);
  }
  if (path.kind === 'unknown-stream') {
    return errorResult(404, 'unknown-stream', `Executors have stdout and stderr logs, not ${JSON.stringify(path.stream)}.`);
  }
  const query = parseLogQuery(input.query);
  try {
    return await serveLog(path, query, deps);
  } catch (err) {
    // A compaction deleted chunks this read had listed: their lines are in the compacted object now.
    if (err instanceof ChunkVanishedError) return serveLog(path, query, deps);
    throw err;
  }
}

async function serveLog(path: Extract<LogPath, { kind: 'log' }>, query: LogQuery, deps: Deps): Promise<HttpResult> {
  const sources = await findLog(deps.store, path.appId, path.executorId, path.stream);
  if ('missing' in sources) {
    return sources.missing === 'app'
      ? errorResult(404, 'unknown-app', `Nothing is archived for app ${path.appId}.`)
      : errorResult(404, 'unknown-executor', `Nothing is archived for executor ${path.executorId} of app ${path.appId}.`);
  }
  const { store, signal } = deps;
  const headers = { 'content-type': TEXT, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' };
  switch (query.kind) {
    case 'text':
      return { status: 200, headers, body: await primed(logText(store, sources, signal)) };
    case 'tail':
      return { status: 200, headers, body: await logTail(store, sources, query.lines, signal) };
    case 'download':
      return {
        status: 200,
        headers: {
          'content-type': 'application/gzip',
          'content-disposition': `attachment; filename="${path.appId}-${path.executorId}-${path.stream}.log.gz"`,
          'cache-control': 'no-cache',
        },
        body: await primed(logGzip(store, sources, signal)),
      };
    case 'range': {
      const ranges = await logRanges(store, sources);
      const size = ranges.size;
      if (query.start >= size) {
        const result = errorResult(416, 'range-not-satisfiable', `The log has ${size} bytes of text; ?start=${query.start} is past its end.`);
        return { ...result, headers: { ...result.headers, 'content-range': `bytes */${size}` } };
      }
      const end = Math.min(query.end ?? size - 1, size - 1);
      return {
        status: 206,
        headers: { ...headers, 'content-range': `bytes ${query.start}-${end}/${size}`, 'content-length': String(end - query.start + 1) },
        body: await primed(ranges.read(query.start, end, signal)),
      };
    }
  }
}

/**
 * A stream of `source` whose first piece has already been read, so that a failure to open the
 * log is an error response rather than a response cut after its headers.
 */
async function primed(source: AsyncGenerator<Buffer>): Promise<Readable> {
  const first = await source.next();
  const stream = Readable.from(
    (async function* () {
      if (first.done) return;
      yield first.value;
      yield* source;
    })(),
  );
  // Destroyed before its first read (a HEAD, a client gone), the wrapper above never started, so
  // it cannot pass the end on to `source`, which holds the log object open.
  stream.once('close', () => void source.return(undefined).catch(() => undefined));
  return stream;
}

function withoutBody(result: HttpResult): HttpResult {
  const body = result.body;
  if (body instanceof Readable) body.destroy();
  const { body: _, ...rest } = result;
  return rest;
}

/** log-viewer as every host sees it: one public GET route. */
export const fn: SparkFunction<HttpResult> = {
  name: 'log-viewer',
  triggers: ['http'],
  routes: [{ path: LOGS_ROUTE, methods: ['GET', 'HEAD'], auth: 'public' }],
  run: (input, deps) => run(input, deps),
};
