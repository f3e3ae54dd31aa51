import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Deps } from '../../shared/deps.js';
import { NotFoundError, SparkfnError, errorMessage } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import type { ObjectInfo, ObjectStore, ObjectSummary, PutOptions } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { archiverMetrics } from './archiver-metrics.js';
import { LOGS_PREFIX, appPrefix, compactedKey, compareChunks, compareText, executorPrefix, parseLogKey, streamPrefix } from './chunk-key.js';
import { LOG_CONTENT_TYPE } from './chunk-writer.js';
import { readMembers } from './gzip-member.js';
import type { LogStream } from './identity.js';
import { type LogIndex, indexObject, publishLogIndex } from './log-index.js';
import { type ChunkRef, ChunkVanishedError, MergeStats, mergeMembers } from './merge-members.js';
import { META, type OffsetRange, formatOffsetRanges, isoTime, parseOffsetRanges, partitionKey } from './object-metadata.js';
import type { ArchiverSettings } from './settings.js';

/** Chunk HEADs (and reads) at once when the metadata of an append is gathered or chunks are checked in. */
const HEAD_CONCURRENCY = 16;
/**
 * A compaction writes the compacted object within this time of putting its marker, or not at
 * all: a run that died or hung cannot write after its marker went stale.
 */
export const COMPACTION_WRITE_DEADLINE_MS = 10 * 60_000;
/**
 * A marker this much older than the reader's own is a run that died: it no longer holds deletes
 * back. Six deadlines: a final write still in flight at the deadline, and clock drift, fit in.
 */
export const MARKER_STALE_MS = 6 * COMPACTION_WRITE_DEADLINE_MS;
/** Folder, under a stream's chunk folder, of the markers of compactions under way. */
export const MARKER_FOLDER = 'compacting';

/** What a compaction run did. */
export interface CompactionSummary {
  kind: 'compaction';
  /** Why it ran: `app-end`, `idle`, or `app` (an explicit call). */
  trigger: string;
  /** Executor streams merged into their compacted object. */
  compacted: number;
  /** Chunks deleted after their lines were verified in the compacted object. */
  deleted: number;
  /** Lines the compacted objects hold (written by this run, or already holding every chunk line). */
  lines: number;
  /** Re-delivered lines dropped. */
  dropped: number;
  /** Streams left for a later run (another compaction of it was running, or the deadline came). */
  skipped: number;
  /** Chunks merged but kept, because another compaction of their stream ran at the same time: the next run deletes them. */
  kept: number;
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

/** A compaction took so long that it may no longer write (see compactStream): it stopped, nothing written. */
export class CompactionDeadlineError extends SparkfnError {
  constructor(key: string) {
    super(`Compaction of ${JSON.stringify(key)} ran past ${COMPACTION_WRITE_DEADLINE_MS / 60_000} minutes; it wrote nothing and the next run merges again.`);
    this.name = 'CompactionDeadlineError';
  }
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
  return { kind: 'compaction', trigger, compacted: 0, deleted: 0, kept: 0, lines: 0, dropped: 0, skipped: 0, failed: 0 };
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
      if (result.chunks === 0) {
        summary.skipped++;
        continue;
      }
      summary.compacted++;
      summary.deleted += result.deleted;
      summary.kept += result.kept;
      summary.lines += result.lines;
      summary.dropped += result.dropped;
    } catch (err) {
      if (err instanceof ChunkVanishedError || err instanceof CompactionDeadlineError) {
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
 *   result will hold, then for real. When the dry run finds every chunk line already in the
 *   compacted object, nothing is written.
 * - Chunks are deleted only when the compacted object, read back, holds every line of every
 *   chunk this run listed, each (topic, partition, offset) once and in order.
 *
 * Concurrency (two replicas, the timer and an app-end event, chunks arriving meanwhile): the
 * compacted object is the only object two runs write, and every write is a union of what the
 * writer read, so the one risk is a run that listed the chunks before a late chunk came and
 * writes after another run checked the late chunk in and deleted it. So each run first puts a
 * marker (`<stream>/compacting/<runId>.json`), lists chunks after it, and writes within
 * COMPACTION_WRITE_DEADLINE_MS of it; a run deletes chunks only when, after its write, it sees
 * no other run's marker younger than MARKER_STALE_MS, and then reads the compacted object back.
 * Two runs that overlap both keep the chunks; the next run deletes them. Readers (log-viewer)
 * merge the compacted object and the chunks, each record once, so kept chunks never show twice.
 *
 * Interrupted anywhere, a re-run converges: before the write nothing changed; after it, the
 * chunks overlap the compacted object, so the re-run finds nothing new and deletes them.
 */
export async function compactStream(s: StreamObjects, deps: Deps, settings: ArchiverSettings): Promise<StreamCompaction> {
  const { store } = deps;
  const target = compactedKey(s.appId, s.executorId, s.stream);
  const runId = randomUUID();
  const marker = `${markerPrefix(s)}${runId}.json`;
  await store.put(marker, JSON.stringify({ runId, startedAt: new Date(deps.clock.now()).toISOString() }), { contentType: 'application/json' });
  const started = deps.clock.now();
  try {
    // Listed after the marker is up: a run that deletes chunks later sees this run, or this run sees its chunks.
    const chunks = (await listStreams(store, streamPrefix(s.appId, s.executorId, s.stream)))
      .flatMap((x) => (x.stream === s.stream ? x.chunks : []))
      .sort(compareChunks);
    if (chunks.length === 0) return { chunks: 0, lines: 0, dropped: 0, deleted: 0, kept: 0, written: false };
    try {
      return await compactListed(s, chunks, target, marker, started, deps, settings);
    } catch (err) {
      if (!(err instanceof CompactionVerificationError)) throw err;
      // A run that composed onto the object while another run wrote it can leave a record twice:
      // merging again (once) removes it; a store that keeps losing what it is given fails again.
      deps.logger.info({ function: 'log-archiver', key: target, err: errorMessage(err) }, 'compaction did not verify: merging again');
      const again = (await listStreams(store, streamPrefix(s.appId, s.executorId, s.stream))).flatMap((x) => (x.stream === s.stream ? x.chunks : [])).sort(compareChunks);
      if (again.length === 0) return { chunks: 0, lines: 0, dropped: 0, deleted: 0, kept: 0, written: false };
      return await compactListed(s, again, target, marker, started, deps, settings);
    }
  } finally {
    await store.delete(marker);
  }
}

/** What compacting one stream did. */
export interface StreamCompaction {
  /** Chunks listed; none when another run compacted them since the stream was picked. */
  chunks: number;
  lines: number;
  dropped: number;
  deleted: number;
  /** Chunks kept because another compaction of the stream was running. */
  kept: number;
  /** Whether the compacted object was written (false: it already held every chunk). */
  written: boolean;
}

async function compactListed(
  s: StreamObjects,
  chunks: readonly ChunkRef[],
  target: string,
  marker: string,
  started: number,
  deps: Deps,
  settings: ArchiverSettings,
): Promise<StreamCompaction> {
  const { store } = deps;
  const metrics = archiverMetrics(deps.metrics);
  const deadline = started + COMPACTION_WRITE_DEADLINE_MS;
  const inTime = () => {
    if (deps.clock.now() > deadline) throw new CompactionDeadlineError(target);
  };
  // Asked, not taken from the listing: one written since must be merged, never overwritten.
  const existing = await store.head(target);

  let lines = 0;
  let dropped = 0;
  let written = false;
  const appended = await tryAppend(store, target, existing, chunks);
  if (appended) {
    inTime();
    await store.compose([...(existing ? [target] : []), ...chunks.map((c) => c.key)], target, appended.options);
    lines = appended.expected.lines;
    written = true;
  } else {
    const input = { ...(existing && { compactedKey: target }), chunks };
    const plan = new MergeStats();
    for await (const _ of mergeMembers(store, input, { gzipLevel: settings.gzipLevel, dryRun: true, stats: plan })) {
      // The dry run only counts.
    }
    dropped = plan.dropped;
    lines = plan.entries;
    if (!existing || plan.fromChunks > 0 || plan.compactedDropped > 0) {
      const options = mergedOptions(plan, existing?.metadata ?? (await firstChunkMetadata(store, chunks)));
      const merged = new MergeStats();
      const body = Readable.from(beforeDeadline(bytesOf(mergeMembers(store, input, { gzipLevel: settings.gzipLevel, stats: merged })), inTime));
      await store.put(target, body, options);
      if (merged.entries !== plan.entries || merged.textBytes !== plan.textBytes) {
        throw new CompactionVerificationError(target, `the merge wrote ${merged.entries} lines where its dry run counted ${plan.entries}`);
      }
      written = true;
    }
  }
  if (written) {
    metrics.objects.inc({ kind: 'compacted' });
    metrics.compactedLines.inc(lines);
  }
  metrics.compactionDropped.inc(dropped);

  // Markers first, then the object: a run whose marker is gone has written already.
  const others = await otherRuns(store, marker);
  if (others > 0) {
    deps.logger.info({ function: 'log-archiver', key: target, chunks: chunks.length, others }, 'another compaction of this stream is running: chunks kept for the next run');
    if (written) await indexCompacted(store, target, undefined, deps);
    return { chunks: chunks.length, lines, dropped, deleted: 0, kept: chunks.length, written };
  }
  const index = await verifyHolds(store, target, chunks);
  await deleteChunks(store, chunks.map((c) => c.key));
  await indexCompacted(store, target, index, deps);
  deps.logger.info({ function: 'log-archiver', key: target, chunks: chunks.length, lines, dropped, appended: Boolean(appended), written }, 'stream compacted');
  return { chunks: chunks.length, lines, dropped, deleted: chunks.length, kept: 0, written };
}

/** Passes the merged bytes on, and fails the write (nothing is stored) when the deadline passed before the end. */
async function* beforeDeadline(bytes: AsyncIterable<Buffer>, inTime: () => void): AsyncGenerator<Buffer> {
  inTime();
  yield* bytes;
  inTime();
}

/** `logs/<appId>/<executorId>/<stream>/compacting/`: markers of the compactions of a stream under way. */
export function markerPrefix(s: { appId: string; executorId: string; stream: LogStream }): string {
  return `${streamPrefix(s.appId, s.executorId, s.stream)}${MARKER_FOLDER}/`;
}

/**
 * Other runs compacting the stream now: markers other than `own`, unless older than
 * MARKER_STALE_MS by the store's clock (the age of `own`), which only a run that died leaves.
 */
async function otherRuns(store: ObjectStore, own: string): Promise<number> {
  const prefix = own.slice(0, own.lastIndexOf('/') + 1);
  const markers: ObjectSummary[] = [];
  for await (const object of listAll(store, prefix)) markers.push(object);
  const mine = markers.find((m) => m.key === own);
  const others = markers.filter((m) => m.key !== own);
  // Without its own marker to date the others by, a run counts them all as running.
  if (!mine) return others.length;
  return others.filter((m) => mine.lastModified.getTime() - m.lastModified.getTime() < MARKER_STALE_MS).length;
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
 * Writes the index of the compacted object beside it (log-index.ts), after every write of the
 * object by this run: `index` when the read-back built one, else the object is read again. A
 * failure only costs readers speed (they read the object whole), so it is logged, not thrown.
 */
async function indexCompacted(store: ObjectStore, target: string, index: LogIndex | undefined, deps: Deps): Promise<void> {
  try {
    const published = await publishLogIndex(store, target, index);
    if (!published) deps.logger.info({ function: 'log-archiver', key: target }, 'the compacted object kept changing while it was indexed: the next compaction indexes it');
  } catch (err) {
    deps.logger.warn({ function: 'log-archiver', key: target, err: errorMessage(err) }, 'could not index the compacted object: readers read it whole');
  }
}

/**
 * Reads the compacted object back: every member well formed, each (topic, partition, offset)
 * once and in order, and every line of every chunk in it. Chunks a concurrent run deleted
 * meanwhile are left out (it checked them in before deleting them). Returns the object's index,
 * built on the way, or undefined when the object changed while it was read.
 */
async function verifyHolds(store: ObjectStore, key: string, chunks: readonly ChunkRef[]): Promise<LogIndex | undefined> {
  const wanted = new Map<string, Set<number>>();
  const bodies = await mapConcurrently(chunks, HEAD_CONCURRENCY, (c) =>
    getBuffer(store, c.key).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }),
  );
  chunks.forEach((c, i) => {
    const body = bodies[i];
    if (!body) return;
    for (const member of readMembers(body, c.key)) {
      const id = partitionKey(member.index.topic, member.index.partition);
      let set = wanted.get(id);
      if (!set) wanted.set(id, (set = new Set()));
      for (const o of member.index.offsets) set.add(o);
    }
  });
  const last = new Map<string, number>();
  const index = await indexObject(store, key, (member) => {
    const id = partitionKey(member.index.topic, member.index.partition);
    const set = wanted.get(id);
    let previous = last.get(id) ?? -1;
    for (const o of member.index.offsets) {
      if (o <= previous) throw new CompactionVerificationError(key, `offset ${o} of ${id} comes again or out of order`);
      previous = o;
      set?.delete(o);
    }
    last.set(id, previous);
  });
  const missing = [...wanted.entries()].filter(([, set]) => set.size > 0);
  if (missing.length > 0) {
    const [id, set] = missing[0] as [string, Set<number>];
    throw new CompactionVerificationError(key, `${[...set].length} chunk lines of ${id} are not in it, the first at offset ${Math.min(...set)}`);
  }
  return index;
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
