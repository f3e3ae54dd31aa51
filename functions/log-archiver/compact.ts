import { Readable } from 'node:stream';
import type { Deps } from '../../shared/deps.js';
import { SparkfnError, errorMessage } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import type { ObjectInfo, ObjectStore, PutOptions } from '../../shared/store/object-store.js';
import { listAll } from '../../shared/store/read.js';
import { archiverMetrics } from './archiver-metrics.js';
import { LOGS_PREFIX, appPrefix, compactedKey, compareChunks, compareText, executorPrefix, parseLogKey } from './chunk-key.js';
import { LOG_CONTENT_TYPE } from './chunk-writer.js';
import { streamMembers } from './gzip-member.js';
import type { LogStream } from './identity.js';
import { type ChunkRef, ChunkVanishedError, MergeStats, mergeMembers } from './merge-members.js';
import { META, type OffsetRange, formatOffsetRanges, isoTime, parseOffsetRanges, partitionKey } from './object-metadata.js';
import type { ArchiverSettings } from './settings.js';

/** Chunk HEADs at once when the metadata of an append is gathered. */
const HEAD_CONCURRENCY = 16;

/** What a compaction run did. */
export interface CompactionSummary {
  kind: 'compaction';
  /** Why it ran: `app-end`, `idle`, or `app` (an explicit call). */
  trigger: string;
  /** Executor streams merged into their compacted object. */
  compacted: number;
  /** Chunks deleted after their lines were verified in the compacted object. */
  deleted: number;
  /** Lines in the compacted objects written. */
  lines: number;
  /** Re-delivered lines dropped. */
  dropped: number;
  /** Streams left for a later run (another compaction of it was running, or the deadline came). */
  skipped: number;
  /** Streams whose compaction failed (logged); their chunks are kept. */
  failed: number;
}

/** One executor stream's objects, as listed. */
export interface StreamObjects {
  appId: string;
  executorId: string;
  stream: LogStream;
  chunks: (ChunkRef & { size: number; lastModified: Date })[];
  compacted?: { size: number; lastModified: Date };
}

/** The merged object did not hold what was merged into it: chunks are kept. */
export class CompactionVerificationError extends SparkfnError {
  constructor(key: string, detail: string) {
    super(`Compaction of ${JSON.stringify(key)} did not verify (${detail}); its chunks are kept and the next run merges again.`);
    this.name = 'CompactionVerificationError';
  }
}

// Streams being compacted by this process: the timer and an app-end event may pick the same one.
const running = new Set<string>();

export function emptyCompactionSummary(trigger: string): CompactionSummary {
  return { kind: 'compaction', trigger, compacted: 0, deleted: 0, lines: 0, dropped: 0, skipped: 0, failed: 0 };
}

/**
 * Compacts every executor stream of one app that has chunks: see compactStream.
 * @example const summary = await compactApp('spark-4f9c2e7a1b3d4c5e8f6a7b8c9d0e1f2a', deps, settings);
 */
export async function compactApp(appId: string, deps: Deps, settings: ArchiverSettings, trigger = 'app'): Promise<CompactionSummary> {
  assertKeySegment(appId, 'app id');
  const streams = await listStreams(deps.store, appPrefix(appId));
  return compactStreams(streams, deps, settings, trigger);
}

/**
 * Compacts the executors whose newest chunk is older than the idle time: an executor that
 * stopped writing (it ended, or the app did) gets one object per stream instead of many chunks.
 * Lists everything under `logs/` once per run (see README: a bucket lifecycle rule on `logs/`
 * keeps that list short).
 */
export async function compactIdle(deps: Deps, settings: ArchiverSettings, now: number): Promise<CompactionSummary> {
  const streams = await listStreams(deps.store, LOGS_PREFIX);
  const newest = new Map<string, number>();
  for (const s of streams) {
    const id = `${s.appId}/${s.executorId}`;
    for (const c of s.chunks) newest.set(id, Math.max(newest.get(id) ?? 0, c.lastModified.getTime()));
  }
  const idle = streams.filter((s) => s.chunks.length > 0 && now - (newest.get(`${s.appId}/${s.executorId}`) ?? now) >= settings.compactIdleMs);
  return compactStreams(idle, deps, settings, 'idle');
}

/** Compacts `streams` one after another; one failure is logged and the others go on. */
export async function compactStreams(streams: readonly StreamObjects[], deps: Deps, settings: ArchiverSettings, trigger: string): Promise<CompactionSummary> {
  const summary = emptyCompactionSummary(trigger);
  for (const s of streams) {
    if (s.chunks.length === 0) continue;
    if (deps.signal?.aborted) {
      summary.skipped++;
      continue;
    }
    const target = compactedKey(s.appId, s.executorId, s.stream);
    if (running.has(target)) {
      summary.skipped++;
      continue;
    }
    running.add(target);
    try {
      const result = await compactStream(s, deps, settings);
      summary.compacted++;
      summary.deleted += result.deleted;
      summary.lines += result.lines;
      summary.dropped += result.dropped;
    } catch (err) {
      if (err instanceof ChunkVanishedError) {
        summary.skipped++;
        deps.logger.info({ function: 'log-archiver', key: target, err: errorMessage(err) }, 'compaction skipped');
        continue;
      }
      summary.failed++;
      deps.logger.error({ function: 'log-archiver', key: target, err: errorMessage(err) }, 'compaction failed');
    } finally {
      running.delete(target);
    }
  }
  if (summary.failed > 0 && summary.compacted === 0) {
    throw new SparkfnError(`Compaction (${trigger}) failed for all ${summary.failed} executor streams it tried; see the log for each.`);
  }
  deps.logger.info({ function: 'log-archiver', ...summary }, 'compaction done');
  return summary;
}

/**
 * Merges one executor stream's chunks (and its compacted object, when late chunks came after a
 * compaction) into `logs/<appId>/<executorId>/<stream>.log.gz`, then deletes the chunks.
 *
 * - When the chunks simply follow what is there (no overlapping offset ranges, in order), the
 *   store composes the objects as they are (server-side part copy on S3/OSS where parts are
 *   large enough): gzip members concatenate into one valid gzip stream.
 * - Otherwise (a re-delivered batch, split differently, overlaps another chunk; or a previous
 *   run wrote the compacted object but died before deleting the chunks), the members are
 *   merged, each (topic, partition, offset) kept once, first in a dry run that counts what the
 *   result will hold, then for real.
 * - The result replaces the compacted object in one atomic write. It is then read back, and
 *   only when its line count and sizes are what the merge produced are the chunks deleted.
 *
 * Interrupted anywhere, a re-run converges: before the write nothing changed; after it, the
 * chunks overlap the compacted object, so the re-run drops all their lines as re-deliveries,
 * rewrites the same content and deletes them.
 */
export async function compactStream(s: StreamObjects, deps: Deps, settings: ArchiverSettings): Promise<{ lines: number; dropped: number; deleted: number }> {
  const { store } = deps;
  const target = compactedKey(s.appId, s.executorId, s.stream);
  const chunks = [...s.chunks].sort(compareChunks);
  // Asked, not taken from the listing: one written since must be merged, never overwritten.
  const existing = await store.head(target);
  const metrics = archiverMetrics(deps.metrics);

  let expected: { lines: number; textBytes: number; size?: number };
  let dropped = 0;
  const appended = await tryAppend(store, target, existing, chunks);
  if (appended) {
    await store.compose([...(existing ? [target] : []), ...chunks.map((c) => c.key)], target, appended.options);
    expected = appended.expected;
  } else {
    const input = { ...(existing && { compactedKey: target }), chunks };
    const plan = new MergeStats();
    for await (const _ of mergeMembers(store, input, { gzipLevel: settings.gzipLevel, dryRun: true, stats: plan })) {
      // The dry run only counts.
    }
    const options = mergedOptions(plan, existing?.metadata ?? (await firstChunkMetadata(store, chunks)));
    const written = new MergeStats();
    const body = Readable.from(bytesOf(mergeMembers(store, input, { gzipLevel: settings.gzipLevel, stats: written })));
    await store.put(target, body, options);
    if (written.entries !== plan.entries || written.textBytes !== plan.textBytes) {
      throw new CompactionVerificationError(target, `the merge wrote ${written.entries} lines where its dry run counted ${plan.entries}`);
    }
    expected = { lines: plan.entries, textBytes: plan.textBytes };
    dropped = plan.dropped;
  }
  metrics.objects.inc({ kind: 'compacted' });

  await verifyCompacted(store, target, expected);
  await deleteChunks(store, chunks.map((c) => c.key));
  metrics.compactedLines.inc(expected.lines);
  metrics.compactionDropped.inc(dropped);
  deps.logger.info({ function: 'log-archiver', key: target, chunks: chunks.length, lines: expected.lines, dropped, appended: Boolean(appended) }, 'stream compacted');
  return { lines: expected.lines, dropped, deleted: chunks.length };
}

/**
 * The put options and expected totals of a plain append, or undefined when the chunks cannot
 * simply be concatenated after the compacted object: offset ranges overlap (a re-delivery, or a
 * compaction interrupted before it deleted its chunks), they would break (topic, partition,
 * offset) order, or an object lacks the metadata that makes counting without reading possible.
 */
async function tryAppend(
  store: ObjectStore,
  target: string,
  existing: ObjectInfo | undefined,
  chunks: readonly ChunkRef[],
): Promise<{ options: PutOptions; expected: { lines: number; textBytes: number; size: number } } | undefined> {
  const ranges = new Map<string, OffsetRange>();
  let last: OffsetRange | undefined;
  if (existing) {
    const stored = parseOffsetRanges(existing.metadata[META.offsetRanges]);
    if (!stored) return undefined;
    for (const r of stored) {
      ranges.set(partitionKey(r.topic, r.partition), { ...r });
      if (!last || comparePartitions(r, last) > 0) last = r;
    }
  }
  for (const c of chunks) {
    // Appending a partition that sorts before one already in the object would break the order.
    if (last && comparePartitions(c, last) < 0) return undefined;
    const id = partitionKey(c.topic, c.partition);
    const range = ranges.get(id);
    if (range && c.firstOffset <= range.last) return undefined;
    if (range) range.last = c.lastOffset;
    else ranges.set(id, { topic: c.topic, partition: c.partition, first: c.firstOffset, last: c.lastOffset });
    last = ranges.get(id);
  }
  const heads = await mapConcurrently(chunks, HEAD_CONCURRENCY, (c) => store.head(c.key));
  const infos = existing ? [existing, ...heads] : heads;
  let lines = 0;
  let textBytes = 0;
  let size = 0;
  let firstTime = 0;
  let lastTime = 0;
  for (const info of infos) {
    if (!info) return undefined;
    const n = Number(info.metadata[META.lineCount]);
    const t = Number(info.metadata[META.textBytes]);
    if (!Number.isSafeInteger(n) || !Number.isSafeInteger(t)) return undefined;
    lines += n;
    textBytes += t;
    size += info.size;
    const f = Date.parse(info.metadata[META.firstEventTime] ?? '');
    const l = Date.parse(info.metadata[META.lastEventTime] ?? '');
    if (Number.isFinite(f)) firstTime = firstTime === 0 ? f : Math.min(firstTime, f);
    if (Number.isFinite(l)) lastTime = Math.max(lastTime, l);
  }
  const stats = new MergeStats();
  stats.entries = lines;
  stats.textBytes = textBytes;
  stats.firstTime = firstTime;
  stats.lastTime = lastTime;
  for (const [id, r] of ranges) stats.ranges.set(id, r);
  const base = existing?.metadata ?? (heads[0] as ObjectInfo).metadata;
  return { options: mergedOptions(stats, base), expected: { lines, textBytes, size } };
}

function mergedOptions(stats: MergeStats, base: Record<string, string>): PutOptions {
  const metadata: Record<string, string> = { [META.lineCount]: String(stats.entries), [META.textBytes]: String(stats.textBytes) };
  for (const name of [META.appType, META.namespace, META.podName, META.appName]) {
    if (base[name]) metadata[name] = base[name];
  }
  const first = isoTime(stats.firstTime);
  const last = isoTime(stats.lastTime);
  if (first) metadata[META.firstEventTime] = first;
  if (last) metadata[META.lastEventTime] = last;
  const ranges = formatOffsetRanges([...stats.ranges.values()].sort(comparePartitions));
  if (ranges) metadata[META.offsetRanges] = ranges;
  return { contentType: LOG_CONTENT_TYPE, contentEncoding: 'gzip', metadata };
}

function comparePartitions(a: { topic: string; partition: number }, b: { topic: string; partition: number }): number {
  return compareText(a.topic, b.topic) || a.partition - b.partition;
}

async function firstChunkMetadata(store: ObjectStore, chunks: readonly ChunkRef[]): Promise<Record<string, string>> {
  return (await store.head((chunks[0] as ChunkRef).key))?.metadata ?? {};
}

async function* bytesOf(members: AsyncIterable<{ bytes?: Buffer }>): AsyncGenerator<Buffer> {
  for await (const m of members) if (m.bytes) yield m.bytes;
}

/**
 * Reads the compacted object back: every member well formed, and as many lines and text bytes
 * (and, for a compose, stored bytes) as were merged into it.
 */
async function verifyCompacted(store: ObjectStore, key: string, expected: { lines: number; textBytes: number; size?: number }): Promise<void> {
  let lines = 0;
  let textBytes = 0;
  let size = 0;
  for await (const member of streamMembers(await store.get(key), key)) {
    lines += member.index.offsets.length;
    textBytes += member.textBytes;
    size += member.bytes.length;
  }
  if (lines !== expected.lines) throw new CompactionVerificationError(key, `it holds ${lines} lines, ${expected.lines} were merged`);
  if (textBytes !== expected.textBytes) throw new CompactionVerificationError(key, `it holds ${textBytes} bytes of text, ${expected.textBytes} were merged`);
  if (expected.size !== undefined && size !== expected.size) throw new CompactionVerificationError(key, `it has ${size} bytes, ${expected.size} were composed`);
}

/**
 * Deletes merged chunks. A batch delete can report an error for keys it did delete (s3rver's
 * file backend answers 500 when two keys share a folder; S3 lists per-key errors), so on an
 * error the keys are looked up: if none is left the delete did its work.
 */
async function deleteChunks(store: ObjectStore, keys: readonly string[]): Promise<void> {
  try {
    await store.deleteMany(keys);
  } catch (err) {
    const left = await mapConcurrently(keys, HEAD_CONCURRENCY, async (key) => ((await store.head(key)) ? key : undefined));
    if (left.some((key) => key !== undefined)) throw err;
  }
}

/** Every executor stream under `prefix` that has chunks or a compacted object, in key order. */
export async function listStreams(store: ObjectStore, prefix: string): Promise<StreamObjects[]> {
  const streams = new Map<string, StreamObjects>();
  for await (const object of listAll(store, prefix)) {
    const parsed = parseLogKey(object.key);
    if (!parsed) continue;
    const id = `${parsed.appId}/${parsed.executorId}/${parsed.stream}`;
    let s = streams.get(id);
    if (!s) streams.set(id, (s = { appId: parsed.appId, executorId: parsed.executorId, stream: parsed.stream, chunks: [] }));
    if (parsed.kind === 'compacted') s.compacted = { size: object.size, lastModified: object.lastModified };
    else {
      const { kind: _, ...name } = parsed;
      s.chunks.push({ ...name, key: object.key, size: object.size, lastModified: object.lastModified });
    }
  }
  return [...streams.values()];
}

/** The executor streams of one executor (for callers that know it). */
export function listExecutorStreams(store: ObjectStore, appId: string, executorId: string): Promise<StreamObjects[]> {
  return listStreams(store, executorPrefix(appId, executorId));
}
