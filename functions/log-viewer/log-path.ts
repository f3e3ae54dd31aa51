import { InvalidInputError } from '../../shared/errors.js';
import { keySegmentProblem } from '../../shared/ids.js';
import type { LogStream } from '../log-archiver/identity.js';
import { isStream } from '../log-archiver/chunk-key.js';

/** The route log-viewer serves (and Spark's log URL points at). */
export const LOGS_ROUTE = '/logs/';

/** What a request path asks for. */
export type LogPath =
  | { kind: 'app'; appId: string }
  | { kind: 'log'; appId: string; executorId: string; stream: LogStream }
  | { kind: 'unknown-stream'; appId: string; executorId: string; stream: string }
  | { kind: 'none' };

/**
 * Reads `/logs/<appId>` or `/logs/<appId>/<executorId>/<stdout|stderr>` (a decoded path). Every
 * segment must be a safe key segment, so no request reaches a key outside `logs/`: `..`, an
 * encoded slash that decoded into one, a control character or an over-long id is refused with
 * InvalidInputError (400) before any store call.
 * @example parseLogPath('/logs/spark-1a2b/3/stderr') // { kind: 'log', appId: 'spark-1a2b', executorId: '3', stream: 'stderr' }
 */
export function parseLogPath(path: string): LogPath {
  if (!path.startsWith(LOGS_ROUTE)) return { kind: 'none' };
  const segments = path.slice(LOGS_ROUTE.length).replace(/\/$/, '').split('/');
  if (segments.length === 1 && segments[0] === '') return { kind: 'none' };
  segments.forEach((segment, i) => {
    const problem = keySegmentProblem(segment);
    if (problem) {
      const what = ['app id', 'executor id', 'log name'][i] ?? 'path segment';
      throw new InvalidInputError(`The ${what} ${JSON.stringify(segment.slice(0, 80))} in the path ${problem}.`, 'unsafe-id');
    }
  });
  const [appId, executorId, stream] = segments as [string, string?, string?];
  if (segments.length === 1) return { kind: 'app', appId };
  if (segments.length === 3 && executorId !== undefined && stream !== undefined) {
    return isStream(stream) ? { kind: 'log', appId, executorId, stream } : { kind: 'unknown-stream', appId, executorId, stream };
  }
  return { kind: 'none' };
}
