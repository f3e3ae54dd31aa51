import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Deps } from '../../shared/deps.js';
import { SparkfnError } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import type { HttpInput } from '../../shared/platform/trigger.js';
import { LOGS_ROUTE } from './log-path.js';
import { run } from './handler.js';

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
