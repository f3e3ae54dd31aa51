import { gunzipSync } from 'node:zlib';
import { NotFoundError } from '../../shared/errors.js';
import type { ObjectInfo, ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { compareText } from './chunk-key.js';
import { type Member, streamMembers } from './gzip-member.js';
import { META } from './object-metadata.js';

/** Format of the index object; a reader that finds another version reads the log without it. */
export const LOG_INDEX_VERSION = 1;
/** `<stream>.log.gz.idx.json`: the index sits beside its compacted object (listings skip it: it does not end in `.log.gz`). */
export const LOG_INDEX_SUFFIX = '.idx.json';
/**
 * Times a compaction indexes its object again when the object changed under it (another run
 * wrote it while this one read it back): that run indexes it too, so a few tries converge.
 */
const INDEX_ATTEMPTS = 3;

/** One gzip member of a compacted object, as the index describes it. */
export interface IndexedMember {
  /** Where the member starts in the object (compressed bytes). */
  offset: number;
  /** Its compressed bytes: header, deflate data and trailer. */
  length: number;
  /** Where its text starts in the object's decompressed text. */
  textStart: number;
  textBytes: number;
  /** Kafka records in it (what the `line-count` metadata counts). */
  entries: number;
  /** Newlines in its text: lines, a multi-line record counted per line. */
  lines: number;
  /** CRC-32 of its text, from the member's gzip trailer. */
  crc: number;
  /** Event times of its first and last record (ms since the epoch), 0 when unknown. */
  firstTime: number;
  lastTime: number;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

/**
 * The index of a compacted log object: where each gzip member is, compressed and decompressed,
 * what it holds, and which version of the object it describes. Written by the compaction that
 * wrote the object, from reading the object back; a pure function of the object's bytes and its
 * size and last-modified time, so two runs indexing the same object write the same bytes.
 */
export interface LogIndex {
  version: typeof LOG_INDEX_VERSION;
  /** The object version described: a reader compares these with a HEAD of the object. */
  object: { size: number; lastModified: string; textBytes: number; entries: number };
  /**
   * Members in (topic, partition, offset) order and every (topic, partition, offset) once, as
   * compaction leaves them: chunks that come after can then be merged without reading the object.
   */
  ordered: boolean;
  members: IndexedMember[];
}

/** `logs/<appId>/<executorId>/<stream>.log.gz.idx.json` for a compacted object's key. */
export function logIndexKey(compactedKey: string): string {
  return `${compactedKey}${LOG_INDEX_SUFFIX}`;
}

/**
 * Builds an index member by member, in object order. Counting a member's lines means
 * decompressing it, unless `known` (the index of an earlier version of the object) has a member
 * with the same records: Kafka records do not change, so neither do their lines. An append then
 * decompresses only what it added.
 */
export class LogIndexBuilder {
  private readonly members: IndexedMember[] = [];
  private readonly knownLines = new Map<string, number>();
  private offset = 0;
  private textStart = 0;
  private entries = 0;
  private ordered = true;

  constructor(known?: LogIndex) {
    for (const m of known?.members ?? []) this.knownLines.set(recordsId(m), m.lines);
  }

  /** Adds the next member. */
  add(member: Member): void {
    const { index } = member;
    const firstOffset = index.offsets[0] as number;
    const lastOffset = index.offsets[index.offsets.length - 1] as number;
    const crc = member.bytes.readUInt32LE(member.bytes.length - 8);
    const id = recordsId({ topic: index.topic, partition: index.partition, firstOffset, lastOffset, entries: index.offsets.length, textBytes: member.textBytes, crc });
    const lines = this.knownLines.get(id) ?? countNewlines(gunzipSync(member.bytes));
    const previous = this.members[this.members.length - 1];
    if (previous) {
      const order = compareText(previous.topic, index.topic) || previous.partition - index.partition;
      if (order > 0 || (order === 0 && previous.lastOffset >= firstOffset)) this.ordered = false;
    }
    this.members.push({
      offset: this.offset,
      length: member.bytes.length,
      textStart: this.textStart,
      textBytes: member.textBytes,
      entries: index.offsets.length,
      lines,
      crc,
      firstTime: index.firstTime,
      lastTime: index.lastTime,
      topic: index.topic,
      partition: index.partition,
      firstOffset,
      lastOffset,
    });
    this.offset += member.bytes.length;
    this.textStart += member.textBytes;
    this.entries += index.offsets.length;
  }

  /** Compressed bytes added so far. */
  get size(): number {
    return this.offset;
  }

  /** The index of an object whose HEAD said `info`. */
  finish(info: { size: number; lastModified: Date }): LogIndex {
    return {
      version: LOG_INDEX_VERSION,
      object: { size: info.size, lastModified: info.lastModified.toISOString(), textBytes: this.textStart, entries: this.entries },
      ordered: this.ordered,
      members: this.members,
    };
  }
}

/**
 * Reads a compacted object whole and indexes it, passing every member to `onMember` on the way
 * (compaction's read-back checks them). undefined when the object is missing or changed while
 * it was read (its size or last-modified time moved between the HEADs around the read).
 */
export async function indexObject(store: ObjectStore, key: string, onMember?: (member: Member) => void, known?: LogIndex): Promise<LogIndex | undefined> {
  const before = await store.head(key);
  if (!before) return undefined;
  const builder = new LogIndexBuilder(known ?? (await readLogIndex(store, key).catch(() => undefined)));
  let stream;
  try {
    stream = await store.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  for await (const member of streamMembers(stream, key)) {
    onMember?.(member);
    builder.add(member);
  }
  const after = await store.head(key);
  if (!after || !sameVersion(before, after) || builder.size !== before.size) return undefined;
  return builder.finish(before);
}

/**
 * Writes `index` beside the object (when given), then checks that the object is still the
 * version it describes; if not (another run wrote the object meanwhile), reads the object back
 * and indexes it again, a few times at most. Returns the index that was left fresh, or undefined
 * when none could be (readers then read the whole object, as without an index).
 */
export async function publishLogIndex(store: ObjectStore, key: string, index?: LogIndex): Promise<LogIndex | undefined> {
  let current = index;
  let stale: LogIndex | undefined;
  for (let attempt = 0; attempt < INDEX_ATTEMPTS; attempt++) {
    current ??= await indexObject(store, key, undefined, stale);
    if (current) {
      await store.put(logIndexKey(key), serializeLogIndex(current), { contentType: 'application/json' });
      const now = await store.head(key);
      if (now && indexDescribes(current, now)) return current;
      stale = current;
    }
    current = undefined;
  }
  return undefined;
}

/**
 * Whether `index` describes the object version `info` (a HEAD of it): same size, same
 * last-modified time, and the same text size as the object's metadata says, when it says.
 * A stale index (the object was rewritten after it) fails this; a reader then reads the object whole.
 */
export function indexDescribes(index: LogIndex, info: ObjectInfo): boolean {
  if (index.object.size !== info.size || index.object.lastModified !== info.lastModified.toISOString()) return false;
  const textBytes = info.metadata[META.textBytes];
  return textBytes === undefined || Number(textBytes) === index.object.textBytes;
}

/** The index as stored: JSON, members as arrays (about 90 bytes each) rather than objects. */
export function serializeLogIndex(index: LogIndex): string {
  const partitions: [string, number][] = [];
  const ids = new Map<string, number>();
  const rows = index.members.map((m) => {
    const id = `${m.topic}\u0000${m.partition}`;
    let p = ids.get(id);
    if (p === undefined) {
      ids.set(id, (p = partitions.length));
      partitions.push([m.topic, m.partition]);
    }
    return [m.offset, m.length, m.textStart, m.textBytes, m.entries, m.lines, m.crc, m.firstTime, m.lastTime, p, m.firstOffset, m.lastOffset];
  });
  return JSON.stringify({ version: index.version, object: index.object, ordered: index.ordered, partitions, members: rows });
}

/** Parses a stored index; undefined when it is not one this build reads (a reader then goes without). */
export function parseLogIndex(text: string): LogIndex | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(raw) || raw.version !== LOG_INDEX_VERSION || !isRecord(raw.object) || !Array.isArray(raw.partitions) || !Array.isArray(raw.members)) return undefined;
  const { size, lastModified, textBytes, entries } = raw.object;
  if (!isCount(size) || typeof lastModified !== 'string' || !isCount(textBytes) || !isCount(entries) || typeof raw.ordered !== 'boolean') return undefined;
  const partitions = raw.partitions as unknown[];
  if (!partitions.every((p) => Array.isArray(p) && typeof p[0] === 'string' && isCount(p[1]))) return undefined;
  const members: IndexedMember[] = [];
  let offset = 0;
  let textStart = 0;
  for (const row of raw.members as unknown[]) {
    if (!Array.isArray(row) || row.length !== 12 || !row.every(isCount)) return undefined;
    const [o, length, t, memberText, records, lines, crc, firstTime, lastTime, p, firstOffset, lastOffset] = row as [number, number, number, number, number, number, number, number, number, number, number, number];
    const partition = partitions[p] as [string, number] | undefined;
    // Members must tile the object and its text: anything else is not an index we wrote.
    if (!partition || o !== offset || t !== textStart || length < 1) return undefined;
    const [topic, partitionNumber] = partition;
    members.push({ offset: o, length, textStart: t, textBytes: memberText, entries: records, lines, crc, firstTime, lastTime, topic, partition: partitionNumber, firstOffset, lastOffset });
    offset += length;
    textStart += memberText;
  }
  if (offset !== size || textStart !== textBytes) return undefined;
  return { version: LOG_INDEX_VERSION, object: { size, lastModified, textBytes, entries }, ordered: raw.ordered, members };
}

/** The stored index of a compacted object, or undefined when there is none or it cannot be read. */
export async function readLogIndex(store: ObjectStore, compactedKey: string): Promise<LogIndex | undefined> {
  try {
    return parseLogIndex((await getBuffer(store, logIndexKey(compactedKey))).toString('utf8'));
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Which records a member holds, as far as its line count goes. */
function recordsId(m: Pick<IndexedMember, 'topic' | 'partition' | 'firstOffset' | 'lastOffset' | 'entries' | 'textBytes' | 'crc'>): string {
  return `${m.topic}\u0000${m.partition}:${m.firstOffset}-${m.lastOffset}:${m.entries}:${m.textBytes}:${m.crc}`;
}

function sameVersion(a: ObjectInfo, b: ObjectInfo): boolean {
  return a.size === b.size && a.lastModified.getTime() === b.lastModified.getTime();
}

function countNewlines(text: Buffer): number {
  let n = 0;
  for (let p = text.indexOf(0x0a); p !== -1; p = text.indexOf(0x0a, p + 1)) n++;
  return n;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
