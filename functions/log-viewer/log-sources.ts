import { promisify } from 'node:util';
import { createGunzip, gunzip as gunzipCallback } from 'node:zlib';
import { DEFAULT_ARCHIVER_GZIP_LEVEL } from '../../shared/config.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { appPrefix, compactedKey, compareChunks } from '../log-archiver/chunk-key.js';
import { type StreamObjects, listExecutorStreams } from '../log-archiver/compact.js';
import type { LogStream } from '../log-archiver/identity.js';
import { type ChunkRef, MergeStats, mergeMembers } from '../log-archiver/merge-members.js';
import { META, parseOffsetRanges, partitionKey } from '../log-archiver/object-metadata.js';
import { type IndexedLog, StaleIndexError, indexedRange, indexedTail, openIndexedLog } from './indexed-log.js';

const gunzip = promisify(gunzipCallback);
/** HEADs at once when sizing a log from its objects' metadata. */
const HEAD_CONCURRENCY = 16;

/** The objects one executor stream's log is made of. */
export interface LogSources {
  appId: string;
  executorId: string;
  stream: LogStream;
  /** `logs/<appId>/<executorId>/<stream>.log.gz`, when a compaction wrote it. */
  compactedKey?: string;
  /** Chunks not compacted yet, in (topic, partition, offset) order. */
  chunks: ChunkRef[];
}

/**
 * Where an executor stream's log is, or which part of its address is unknown. An executor
 * that exists but never wrote to this stream has an empty log.
 */
export async function findLog(store: ObjectStore, appId: string, executorId: string, stream: LogStream): Promise<LogSources | { missing: 'app' | 'executor' }> {
  const streams = await listExecutorStreams(store, appId, executorId);
  if (streams.length === 0) {
    const app = await store.list(appPrefix(appId), { limit: 1 });
    return { missing: app.objects.length === 0 ? 'app' : 'executor' };
  }
  return sourcesOf(streams.find((s) => s.stream === stream) ?? { appId, executorId, stream, chunks: [] });
}

export function sourcesOf(s: StreamObjects): LogSources {
  const chunks = s.chunks.map(({ size: _, lastModified: __, ...chunk }) => chunk).sort(compareChunks);
  return {
    appId: s.appId,
    executorId: s.executorId,
    stream: s.stream,
    ...(s.compacted && { compactedKey: compactedKey(s.appId, s.executorId, s.stream) }),
    chunks,
  };
}

/**
 * The log's gzip bytes: the compacted object as stored when there are no chunks, else the
 * members of the compacted object and the chunks in order, re-delivered lines dropped (members
 * with nothing to drop are the stored bytes).
 */
export async function* logGzip(store: ObjectStore, sources: LogSources, signal?: AbortSignal): AsyncGenerator<Buffer> {
  if (sources.chunks.length === 0) {
    if (sources.compactedKey) yield* (await store.get(sources.compactedKey)) as AsyncIterable<Buffer>;
    return;
  }
  for await (const member of mergeMembers(store, sources, { gzipLevel: DEFAULT_ARCHIVER_GZIP_LEVEL })) {
    if (signal?.aborted) return;
    yield member.bytes as Buffer;
  }
}

/** The log's text, decompressed, in order, each Kafka record once. */
export async function* logText(store: ObjectStore, sources: LogSources, signal?: AbortSignal): AsyncGenerator<Buffer> {
  if (sources.chunks.length === 0) {
    if (!sources.compactedKey) return;
    // gzip members concatenate: one streaming gunzip reads the whole compacted object.
    const raw = await store.get(sources.compactedKey);
    const stream = raw.pipe(createGunzip());
    try {
      for await (const piece of stream as AsyncIterable<Buffer>) {
        if (signal?.aborted) return;
        yield piece;
      }
    } finally {
      // pipe() leaves its source open when the destination goes: a reader that stops early would leak the object's file or socket.
      stream.destroy();
      raw.destroy();
    }
    return;
  }
  for await (const member of mergeMembers(store, sources, { gzipLevel: DEFAULT_ARCHIVER_GZIP_LEVEL })) {
    if (signal?.aborted) return;
    yield await gunzip(member.bytes as Buffer);
  }
}

/**
 * The size of the log's text. From metadata when the objects cannot overlap (their offset
 * ranges say so): a few HEADs. Otherwise a dry run of the merge, which reads the objects but
 * decompresses nothing.
 */
export async function textSize(store: ObjectStore, sources: LogSources): Promise<number> {
  const keys = [...(sources.compactedKey ? [sources.compactedKey] : []), ...sources.chunks.map((c) => c.key)];
  const heads = await mapConcurrently(keys, HEAD_CONCURRENCY, (key) => store.head(key));
  const sizes = heads.map((h) => Number(h?.metadata[META.textBytes]));
  if (sizes.every((n) => Number.isSafeInteger(n)) && !overlaps(sources, heads[0]?.metadata)) return sizes.reduce((a, b) => a + b, 0);
  const stats = new MergeStats();
  for await (const _ of mergeMembers(store, sources, { gzipLevel: DEFAULT_ARCHIVER_GZIP_LEVEL, dryRun: true, stats })) {
    // Counting only.
  }
  return stats.textBytes;
}

function overlaps(sources: LogSources, compactedMetadata: Record<string, string> | undefined): boolean {
  const last = new Map<string, number>();
  if (sources.compactedKey) {
    const ranges = parseOffsetRanges(compactedMetadata?.[META.offsetRanges]);
    if (!ranges) return true;
    for (const r of ranges) last.set(partitionKey(r.topic, r.partition), r.last);
  }
  for (const c of sources.chunks) {
    const id = partitionKey(c.topic, c.partition);
    if (c.firstOffset <= (last.get(id) ?? -1)) return true;
    last.set(id, c.lastOffset);
  }
  return false;
}

/** Bytes `start` to `end` (inclusive) of a byte stream. */
export async function* sliceBytes(source: AsyncIterable<Buffer>, start: number, end: number): AsyncGenerator<Buffer> {
  let at = 0;
  for await (const piece of source) {
    const from = Math.max(0, start - at);
    const to = Math.min(piece.length, end + 1 - at);
    if (from < to) yield piece.subarray(from, to);
    at += piece.length;
    if (at > end) return;
  }
}

/** The last `n` lines of a text stream (a last line without a newline counts). */
export async function tailLines(source: AsyncIterable<Buffer>, n: number): Promise<Buffer> {
  const ring: Buffer[] = new Array<Buffer>(n);
  let count = 0;
  let partial: Buffer[] = [];
  for await (const piece of source) {
    let from = 0;
    for (let nl = piece.indexOf(0x0a); nl !== -1; nl = piece.indexOf(0x0a, from)) {
      // Copy: a view would keep the whole decompressed piece alive for one line.
      const line = Buffer.concat([...partial, piece.subarray(from, nl + 1)]);
      partial = [];
      ring[count++ % n] = line;
      from = nl + 1;
    }
    if (from < piece.length) partial.push(Buffer.from(piece.subarray(from)));
  }
  if (partial.length > 0) ring[count++ % n] = Buffer.concat(partial);
  const kept = Math.min(count, n);
  const out: Buffer[] = [];
  for (let i = count - kept; i < count; i++) out.push(ring[i % n] as Buffer);
  return Buffer.concat(out);
}

/**
 * The last `n` lines of the log: through the compacted object's index when it can serve
 * (indexed-log.ts: only the last members are read), else read to the end. Same answer either way.
 */
export async function logTail(store: ObjectStore, sources: LogSources, n: number, signal?: AbortSignal): Promise<Buffer> {
  const log = await openIndexedLog(store, sources);
  if (log) {
    try {
      return await indexedTail(store, log, n, signal);
    } catch (err) {
      if (!(err instanceof StaleIndexError)) throw err;
    }
  }
  return tailLines(logText(store, sources, signal), n);
}

/** The size of a log's text and a reader of byte ranges of it. */
export interface LogRanges {
  size: number;
  /** Bytes `start` to `end` (inclusive) of the text. */
  read(start: number, end: number, signal?: AbortSignal): AsyncGenerator<Buffer>;
  /** The log laid out by its index, when the index can serve (for readers that need more than ranges, such as the log page). */
  indexed?: IndexedLog;
}

/**
 * Byte ranges of the log's text: through the index when it can serve (only the members that
 * hold the range are read), else by reading the text from its start. Should the index turn out
 * stale while a range is read, the rest comes from the full read.
 */
export async function logRanges(store: ObjectStore, sources: LogSources): Promise<LogRanges> {
  const full = (start: number, end: number, signal?: AbortSignal) => sliceBytes(logText(store, sources, signal), start, end);
  const log = await openIndexedLog(store, sources);
  if (!log) return { size: await textSize(store, sources), read: full };
  return {
    size: log.textBytes,
    indexed: log,
    async *read(start, end, signal) {
      let sent = 0;
      try {
        for await (const piece of indexedRange(store, log, start, end, signal)) {
          sent += piece.length;
          yield piece;
        }
      } catch (err) {
        if (!(err instanceof StaleIndexError)) throw err;
        yield* full(start + sent, end, signal);
      }
    },
  };
}
