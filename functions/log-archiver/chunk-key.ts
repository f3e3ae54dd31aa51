import { keySegmentProblem } from '../../shared/ids.js';
import { LOG_STREAMS, type LogStream } from './identity.js';

/** Every archived log lives under this prefix (DESIGN.md's object store layout). */
export const LOGS_PREFIX = 'logs/';
/** Offsets are int64: 19 digits at most; 20 keeps a margin and sorts keys numerically. */
export const OFFSET_DIGITS = 20;
/**
 * Longest chunk key we write. S3 allows 1024 bytes including the store's prefix; a Kafka topic
 * (249) plus an app and an executor id (253 each) could otherwise pass it.
 */
export const MAX_CHUNK_KEY_BYTES = 900;
const SUFFIX = '.log.gz';

/** What a chunk's key says: whose log, and which Kafka records it holds. */
export interface ChunkName {
  appId: string;
  executorId: string;
  stream: LogStream;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

/** A parsed key under `logs/`. */
export type LogKey = ({ kind: 'chunk' } & ChunkName) | { kind: 'compacted'; appId: string; executorId: string; stream: LogStream };

/** `000…042`: an offset as 20 digits. */
export function padOffset(offset: number): string {
  return String(offset).padStart(OFFSET_DIGITS, '0');
}

/**
 * `logs/<appId>/<executorId>/<stream>/<topic>-<partition>-<firstOffset>-<lastOffset>.log.gz`,
 * offsets zero-padded so that a listing sorts a partition's chunks by offset.
 * @example chunkKey({ appId: 'spark-1', executorId: '3', stream: 'stderr', topic: 'spark-logs', partition: 0, firstOffset: 7, lastOffset: 42 })
 * // 'logs/spark-1/3/stderr/spark-logs-0-00000000000000000007-00000000000000000042.log.gz'
 */
export function chunkKey(c: ChunkName): string {
  return `${streamPrefix(c.appId, c.executorId, c.stream)}${c.topic}-${c.partition}-${padOffset(c.firstOffset)}-${padOffset(c.lastOffset)}${SUFFIX}`;
}

/** `logs/<appId>/<executorId>/<stream>.log.gz`: where compaction puts an executor's stream. */
export function compactedKey(appId: string, executorId: string, stream: LogStream): string {
  return `${LOGS_PREFIX}${appId}/${executorId}/${stream}${SUFFIX}`;
}

/** `logs/<appId>/<executorId>/<stream>/`: the folder of a stream's chunks. */
export function streamPrefix(appId: string, executorId: string, stream: LogStream): string {
  return `${LOGS_PREFIX}${appId}/${executorId}/${stream}/`;
}

/** `logs/<appId>/`. */
export function appPrefix(appId: string): string {
  return `${LOGS_PREFIX}${appId}/`;
}

/** `logs/<appId>/<executorId>/`. */
export function executorPrefix(appId: string, executorId: string): string {
  return `${LOGS_PREFIX}${appId}/${executorId}/`;
}

const CHUNK_FILE = /^(.+)-(\d+)-(\d{20})-(\d{20})\.log\.gz$/;

/**
 * What a key under `logs/` is, or undefined for anything else (a stranger's object, a temp
 * file): such keys are left alone by compaction and the viewer.
 */
export function parseLogKey(key: string): LogKey | undefined {
  if (!key.startsWith(LOGS_PREFIX)) return undefined;
  const parts = key.slice(LOGS_PREFIX.length).split('/');
  const [appId, executorId] = parts;
  if (appId === undefined || executorId === undefined || keySegmentProblem(appId) || keySegmentProblem(executorId)) return undefined;
  if (parts.length === 3) {
    const stream = (parts[2] as string).slice(0, -SUFFIX.length);
    if (!(parts[2] as string).endsWith(SUFFIX) || !isStream(stream)) return undefined;
    return { kind: 'compacted', appId, executorId, stream };
  }
  if (parts.length !== 4 || !isStream(parts[2] as string)) return undefined;
  const m = CHUNK_FILE.exec(parts[3] as string);
  if (!m) return undefined;
  const [partition, firstOffset, lastOffset] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (!Number.isSafeInteger(partition) || !Number.isSafeInteger(firstOffset) || !Number.isSafeInteger(lastOffset) || firstOffset > lastOffset) return undefined;
  return { kind: 'chunk', appId, executorId, stream: parts[2] as LogStream, topic: m[1] as string, partition, firstOffset, lastOffset };
}

export function isStream(value: string): value is LogStream {
  return (LOG_STREAMS as readonly string[]).includes(value);
}

/** Orders chunks as compaction and the viewer read them: by topic, partition, first offset, then last offset. */
export function compareChunks(a: ChunkName, b: ChunkName): number {
  return compareText(a.topic, b.topic) || a.partition - b.partition || a.firstOffset - b.firstOffset || a.lastOffset - b.lastOffset;
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
