import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Deps } from '../../shared/deps.js';
import { SparkfnError } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import type { HttpInput } from '../../shared/platform/trigger.js';
import { LOGS_ROUTE } from './log-path.js';
import { run } from './handler.js';
import { listApp } from './app-listing.js';
import { formatBytes } from '../../shared/text/quantity.js';
import { formatTable } from '../../shared/text/table.js';

/** The stream `sparkfn logs` prints when none is named: Spark's log4j2 console appender writes to stderr. */
export const DEFAULT_CLI_STREAM = 'stderr';

/** What `sparkfn logs <appId> <executorId> [stdout|stderr] [--tail N]` asks for. */
export interface LogRequest {
  appId: string;
  executorId: string;
  /** `stdout` or `stderr` (default DEFAULT_CLI_STREAM); anything else is refused as the route refuses it. */
  stream?: string;
  /** Only the last N lines (1 to 100,000, as `?tail=`). */
  tail?: number;
}

/** The viewer answered with an error: `status` and `reason` are the HTTP route's. */
export class LogReadError extends SparkfnError {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'LogReadError';
  }
}

/**
 * Prints an executor's archived log to `write`: the very request log-viewer's HTTP route serves
 * (`GET /logs/<appId>/<executorId>/<stream>[?tail=N]`), answered by its own `run`, so the CLI
 * and the route cannot disagree (same sources, order, re-delivery drops, tail and errors).
 * Streams: memory is one piece of the log at a time (the last N lines with `tail`).
 * Ids are checked as key segments first, so an id with a slash cannot name another path.
 * Rejects with LogReadError (unknown app / executor / stream, a bad tail) carrying the route's status.
 * @example await printLog({ appId: 'spark-4f9c…', executorId: '1', tail: 20 }, deps, (t) => process.stdout.write(t));
 */
export async function printLog(request: LogRequest, deps: Deps, write: (text: string) => void): Promise<void> {
  const stream = request.stream ?? DEFAULT_CLI_STREAM;
  const segments = [assertKeySegment(request.appId, 'app id'), assertKeySegment(request.executorId, 'executor id'), assertKeySegment(stream, 'log name')];
  const input: HttpInput = {
    kind: 'http',
    source: 'cli',
    method: 'GET',
    path: LOGS_ROUTE + segments.join('/'),
    query: request.tail !== undefined ? { tail: String(request.tail) } : {},
    headers: {},
    body: Buffer.alloc(0),
  };
  const result = await run(input, deps);
  if (result.status >= 300) {
    const text = typeof result.body === 'string' || Buffer.isBuffer(result.body) ? result.body.toString() : '';
    const error = (JSON.parse(text || '{}') as { error?: { reason?: string; message?: string } }).error;
    throw new LogReadError(error?.message ?? `log-viewer answered ${result.status}.`, result.status, error?.reason ?? 'error');
  }
  // Pieces split UTF-8 sequences anywhere: the decoder holds a partial character for the next piece.
  const decoder = new StringDecoder('utf8');
  const body = result.body;
  if (body === undefined) return;
  if (typeof body === 'string') return write(body);
  if (Buffer.isBuffer(body)) return write(decoder.end(body));
  for await (const piece of body as Readable) {
    const text = decoder.write(typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer));
    if (text) write(text);
  }
  const rest = decoder.end();
  if (rest) write(rest);
}

/**
 * `sparkfn logs <appId>`: the app's executors and streams, as log-viewer's `GET /logs/<appId>`
 * lists them: a table with sizes as people write them, or (`output: 'json'`) the listing
 * (functions/log-viewer/listing-schema.ts). LogReadError (404, exit 1) when nothing is archived.
 * @example await printListing('spark-4f9c…', deps, (t) => process.stdout.write(t), 'table');
 */
export async function printListing(appId: string, deps: Deps, write: (text: string) => void, output: 'table' | 'json' = 'table'): Promise<void> {
  const listing = await listApp(deps.store, assertKeySegment(appId, 'app id'));
  if (!listing) throw new LogReadError(`Nothing is archived for app ${appId}.`, 404, 'unknown-app');
  if (output === 'json') return write(JSON.stringify(listing, null, 2) + '\n');
  const rows = listing.executors.flatMap((e) =>
    e.streams.map((s) => [e.executorId, s.stream, formatBytes(s.storedBytes), s.compacted ? 'yes' : 'no', String(s.chunks), s.firstEventTime ?? '-', s.lastEventTime ?? '-', s.path]),
  );
  write(formatTable(['executor', 'stream', 'stored', 'compacted', 'chunks', 'first line', 'last line', 'path'], rows) + '\n');
}
