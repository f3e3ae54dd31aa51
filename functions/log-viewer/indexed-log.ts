import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { DEFAULT_ARCHIVER_GZIP_LEVEL } from '../../shared/config.js';
import { SparkfnError } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { compareText } from '../log-archiver/chunk-key.js';
import { streamMembers } from '../log-archiver/gzip-member.js';
import { type IndexedMember, type LogIndex, indexDescribes, readLogIndex } from '../log-archiver/log-index.js';
import { mergeMembers } from '../log-archiver/merge-members.js';
import type { LogSources } from './log-sources.js';

const gunzip = promisify(gunzipCallback);

/**
 * A member read through the index is not what the index says is there: the object changed after
 * the HEAD that found the index fresh. The caller reads the log whole instead.
 */
export class StaleIndexError extends SparkfnError {
  constructor(key: string, detail: string) {
    super(`The index of ${JSON.stringify(key)} does not match the object (${detail}); reading it whole.`);
    this.name = 'StaleIndexError';
  }
}

/** One piece of the log's text in order: a member of the compacted object, or a chunk member held in memory. */
export interface LogUnit {
  textStart: number;
  textBytes: number;
  entries: number;
  /** Newlines in its text, from the index; undefined for a chunk member (counted when needed). */
  lines?: number;
  firstTime: number;
  lastTime: number;
  /** The compacted object's member, read with a ranged GET. */
  member?: IndexedMember;
  /** A chunk member's gzip bytes (chunks are read whole: they are what is not compacted yet). */
  gzip?: Buffer;
}

/**
 * An executor stream's log laid out by the compacted object's index, with the chunks not yet
 * compacted merged after it as the full read merges them. Only the members a read needs are
 * fetched, contiguous ones with one ranged GET each.
 */
export interface IndexedLog {
  compactedKey: string;
  index: LogIndex;
  units: LogUnit[];
  textBytes: number;
}

/**
 * The log of `sources` through its index, or undefined when the index cannot serve it and the
 * caller must read the log whole (the old path, always right): no compacted object, no index, an
 * index of another version of the object (stale: its size, last-modified time or text size
 * differ from a HEAD of the object), or chunks that overlap the object or an object whose
 * records are not in order once each, so that merging needs every record's offset.
 */
export async function openIndexedLog(store: ObjectStore, sources: LogSources): Promise<IndexedLog | undefined> {
  const key = sources.compactedKey;
  if (!key) return undefined;
  const [info, index] = await Promise.all([store.head(key), readLogIndex(store, key)]);
  if (!info || !index || !indexDescribes(index, info)) return undefined;
  const units: LogUnit[] = index.members.map((m) => ({ textStart: m.textStart, textBytes: m.textBytes, entries: m.entries, lines: m.lines, firstTime: m.firstTime, lastTime: m.lastTime, member: m }));
  if (sources.chunks.length === 0) return { compactedKey: key, index, units, textBytes: index.object.textBytes };
  if (!index.ordered || overlapsIndex(index, sources)) return undefined;

  // The chunks merged among themselves (re-deliveries dropped) as the full read merges them.
  // They follow every compacted record of their partition and precede later partitions'.
  const tail: { topic: string; partition: number; unit: LogUnit }[] = [];
  for await (const m of mergeMembers(store, { chunks: sources.chunks }, { gzipLevel: DEFAULT_ARCHIVER_GZIP_LEVEL })) {
    tail.push({ topic: m.index.topic, partition: m.index.partition, unit: { textStart: 0, textBytes: m.textBytes, entries: m.index.offsets.length, firstTime: m.index.firstTime, lastTime: m.index.lastTime, gzip: m.bytes as Buffer } });
  }
  const merged: LogUnit[] = [];
  let c = 0;
  for (const t of tail) {
    while (c < units.length && comparePartition(units[c]!.member!, t) <= 0) merged.push(units[c++]!);
    merged.push(t.unit);
  }
  while (c < units.length) merged.push(units[c++]!);
  let at = 0;
  for (const u of merged) {
    u.textStart = at;
    at += u.textBytes;
  }
  return { compactedKey: key, index, units: merged, textBytes: at };
}

/**
 * The texts of units `from` to `to` (exclusive), in order. Runs of compacted members are one
 * ranged GET each; every member read is checked against the index (StaleIndexError otherwise).
 */
export async function* unitTexts(store: ObjectStore, log: IndexedLog, from: number, to: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let i = from;
  while (i < to) {
    if (signal?.aborted) return;
    const unit = log.units[i]!;
    if (!unit.member) {
      yield await gunzip(unit.gzip as Buffer);
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < to && log.units[j + 1]!.member) j++;
    const first = unit.member;
    const last = log.units[j]!.member!;
    const range = { start: first.offset, end: last.offset + last.length - 1 };
    const members = streamMembers(await store.get(log.compactedKey, range), log.compactedKey);
    try {
      for (let k = i; k <= j; k++) {
        const expected = log.units[k]!.member!;
        const next = await members.next();
        if (next.done) throw new StaleIndexError(log.compactedKey, `it ends before the member at byte ${expected.offset}`);
        const member = next.value;
        const offsets = member.index.offsets;
        if (
          member.bytes.length !== expected.length ||
          member.textBytes !== expected.textBytes ||
          member.bytes.readUInt32LE(member.bytes.length - 8) !== expected.crc ||
          offsets.length !== expected.entries ||
          offsets[0] !== expected.firstOffset ||
          offsets[offsets.length - 1] !== expected.lastOffset ||
          member.index.partition !== expected.partition ||
          member.index.topic !== expected.topic
        ) {
          throw new StaleIndexError(log.compactedKey, `the member at byte ${expected.offset} holds other records`);
        }
        if (signal?.aborted) return;
        yield await gunzip(member.bytes);
      }
    } finally {
      await members.return(undefined);
    }
    i = j + 1;
  }
}

/**
 * The last `n` lines of the log, reading only the members that hold them: from the end back to
 * the member where `n + 1` records are reached (every record ends with a newline, so its text has
 * at least `n` whole lines after a line break), then, should records lack newlines, further back
 * until it does. Same answer as tailLines over the whole text.
 */
export async function indexedTail(store: ObjectStore, log: IndexedLog, n: number, signal?: AbortSignal): Promise<Buffer> {
  let want = n + 1;
  for (;;) {
    let from = log.units.length;
    let entries = 0;
    while (from > 0 && entries < want) entries += log.units[--from]!.entries;
    const pieces: Buffer[] = [];
    for await (const piece of unitTexts(store, log, from, log.units.length, signal)) pieces.push(piece);
    const text = Buffer.concat(pieces);
    if (from === 0 || wholeLinesAfterBreak(text) >= n) return lastLines(text, n);
    want *= 2;
  }
}

/** The units whose text overlaps bytes `start` to `end` (inclusive), as a range of unit numbers. */
export function unitsForBytes(log: IndexedLog, start: number, end: number): { from: number; to: number } {
  const units = log.units;
  // First unit that ends after `start`: binary search over textStart.
  let lo = 0;
  let hi = units.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const u = units[mid]!;
    if (u.textStart + u.textBytes <= start) lo = mid + 1;
    else hi = mid;
  }
  let to = lo;
  while (to < units.length && units[to]!.textStart <= end) to++;
  return { from: lo, to };
}

/** Bytes `start` to `end` (inclusive) of the log's text, reading only the members that hold them. */
export async function* indexedRange(store: ObjectStore, log: IndexedLog, start: number, end: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const { from, to } = unitsForBytes(log, start, end);
  if (from >= to) return;
  let at = log.units[from]!.textStart;
  for await (const piece of unitTexts(store, log, from, to, signal)) {
    const a = Math.max(0, start - at);
    const b = Math.min(piece.length, end + 1 - at);
    if (a < b) yield piece.subarray(a, b);
    at += piece.length;
  }
}

/**
 * Where to start reading for a window that starts at byte `start`: the first unit holding byte
 * `start - 1` (so that the reader sees whether the line at `start` is whole), its text offset and
 * the newlines before it, summed from the index (a chunk unit's are counted by decompressing it;
 * chunks are in memory).
 */
export async function windowOrigin(log: IndexedLog, start: number): Promise<{ from: number; at: number; newlinesBefore: number }> {
  const { from } = unitsForBytes(log, Math.max(0, start - 1), Math.max(0, start - 1));
  let newlinesBefore = 0;
  for (let i = 0; i < from; i++) {
    const u = log.units[i]!;
    u.lines ??= countNewlines(await gunzip(u.gzip as Buffer));
    newlinesBefore += u.lines;
  }
  return { from, at: from < log.units.length ? log.units[from]!.textStart : log.textBytes, newlinesBefore };
}

/**
 * The text from unit `from` on: first the units overlapping bytes up to `end` (one ranged GET),
 * then, only if the reader keeps pulling (a line cut by `end`), the rest.
 */
export async function* textFromUnit(store: ObjectStore, log: IndexedLog, from: number, end: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const { to } = unitsForBytes(log, end, end);
  const upto = Math.max(from, Math.min(to, log.units.length));
  yield* unitTexts(store, log, from, upto, signal);
  yield* unitTexts(store, log, upto, log.units.length, signal);
}

function countNewlines(text: Buffer): number {
  let n = 0;
  for (let p = text.indexOf(0x0a); p !== -1; p = text.indexOf(0x0a, p + 1)) n++;
  return n;
}

/** An event-time range, ms since the epoch, both ends inclusive; an end left out is open. */
export interface TimeRange {
  from?: number;
  to?: number;
}

/**
 * Whether a member with these event times may hold records in `range`: its span overlaps it, or
 * its times are unknown (0), which never excludes it. Records carry no time of their own in the
 * archive, so a time range selects whole members (at most MAX_MEMBER_TEXT_BYTES of text each).
 */
export function mayHoldTimes(firstTime: number, lastTime: number, range: TimeRange): boolean {
  if (firstTime === 0 || lastTime === 0) return true;
  return (range.from === undefined || lastTime >= range.from) && (range.to === undefined || firstTime <= range.to);
}

/** The text of every member that may hold records in `range`, in log order, reading only those members. */
export async function* indexedTimeRange(store: ObjectStore, log: IndexedLog, range: TimeRange, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let i = 0;
  while (i < log.units.length) {
    const u = log.units[i]!;
    if (!mayHoldTimes(u.firstTime, u.lastTime, range)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < log.units.length && mayHoldTimes(log.units[j + 1]!.firstTime, log.units[j + 1]!.lastTime, range)) j++;
    yield* unitTexts(store, log, i, j + 1, signal);
    i = j + 1;
  }
}

/** Whether a chunk's offsets reach into the compacted object's (or an earlier chunk's) for its partition. */
function overlapsIndex(index: LogIndex, sources: LogSources): boolean {
  const last = new Map<string, number>();
  for (const m of index.members) last.set(`${m.topic}\u0000${m.partition}`, m.lastOffset);
  for (const c of sources.chunks) if (c.firstOffset <= (last.get(`${c.topic}\u0000${c.partition}`) ?? -1)) return true;
  return false;
}

function comparePartition(a: { topic: string; partition: number }, b: { topic: string; partition: number }): number {
  return compareText(a.topic, b.topic) || a.partition - b.partition;
}

/** Line breaks in `text` that a line starts after (a final newline ends a line; no line starts after it). */
function wholeLinesAfterBreak(text: Buffer): number {
  let n = 0;
  for (let p = text.indexOf(0x0a); p !== -1 && p < text.length - 1; p = text.indexOf(0x0a, p + 1)) n++;
  return n;
}

/** The last `n` lines of a text held in memory (a last line without a newline counts), as tailLines counts them. */
function lastLines(text: Buffer, n: number): Buffer {
  let end = text.length;
  if (end > 0 && text[end - 1] === 0x0a) end--;
  let start = end;
  let found = 0;
  while (found < n) {
    const nl = start > 0 ? text.lastIndexOf(0x0a, start - 1) : -1;
    if (nl === -1) return Buffer.from(text);
    start = nl;
    found++;
  }
  return Buffer.from(text.subarray(start + 1));
}

/**
 * The text of every member that may hold records in `range` (see mayHoldTimes), in log order,
 * each Kafka record once: through the index when it can serve (only those members are read),
 * else by walking every member's header as the full read does. Both give the same text.
 */
export async function* logTextInTimeRange(store: ObjectStore, sources: LogSources, range: TimeRange, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const log = await openIndexedLog(store, sources);
  let sent = 0;
  if (log) {
    try {
      for await (const piece of indexedTimeRange(store, log, range, signal)) {
        sent++;
        yield piece;
      }
      return;
    } catch (err) {
      if (!(err instanceof StaleIndexError)) throw err;
    }
  }
  // Whole members were sent before a stale index showed: the walk skips as many.
  let skip = sent;
  for await (const piece of walkTimeRange(store, sources, range, signal)) {
    if (skip > 0) {
      skip--;
      continue;
    }
    yield piece;
  }
}

/** logTextInTimeRange without the index: every member's header is read, the matching ones decompressed. */
export async function* walkTimeRange(store: ObjectStore, sources: LogSources, range: TimeRange, signal?: AbortSignal): AsyncGenerator<Buffer> {
  if (sources.chunks.length === 0) {
    if (!sources.compactedKey) return;
    // As the full read with no chunks: the object's members as they are.
    for await (const member of streamMembers(await store.get(sources.compactedKey), sources.compactedKey)) {
      if (signal?.aborted) return;
      if (mayHoldTimes(member.index.firstTime, member.index.lastTime, range)) yield await gunzip(member.bytes);
    }
    return;
  }
  for await (const member of mergeMembers(store, sources, { gzipLevel: DEFAULT_ARCHIVER_GZIP_LEVEL })) {
    if (signal?.aborted) return;
    if (mayHoldTimes(member.index.firstTime, member.index.lastTime, range)) yield await gunzip(member.bytes as Buffer);
  }
}
