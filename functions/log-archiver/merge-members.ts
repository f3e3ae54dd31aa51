import { NotFoundError, SparkfnError } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer } from '../../shared/store/read.js';
import type { ChunkName } from './chunk-key.js';
import { type Member, type MemberIndex, decodeMember, encodeMember, readMembers, streamMembers } from './gzip-member.js';
import { type OffsetRange, partitionKey } from './object-metadata.js';

/** Chunks read ahead while the current one is merged: hides store latency, bounds memory. */
const PREFETCH = 8;

/** A chunk to merge: its key and what the key says. */
export interface ChunkRef extends ChunkName {
  key: string;
}

/** What to merge: a stream's compacted object (if any) and its chunks, sorted by compareChunks. */
export interface MergeInput {
  compactedKey?: string;
  chunks: readonly ChunkRef[];
}

/** One member of the merged stream. */
export interface MergedMember {
  index: MemberIndex;
  textBytes: number;
  /** The member's gzip bytes; absent in a dry run. */
  bytes?: Buffer;
  /** The member lost re-delivered entries and was re-encoded. */
  rewritten: boolean;
}

/** Totals of a merge, filled in as it runs. */
export class MergeStats {
  entries = 0;
  textBytes = 0;
  /** Entries dropped because the same (topic, partition, offset) came earlier. */
  dropped = 0;
  members = 0;
  rewritten = 0;
  /** Entries kept from chunks: none means the compacted object already held every chunk's lines. */
  fromChunks = 0;
  /** Entries of the compacted object itself dropped (it held a record twice). */
  compactedDropped = 0;
  firstTime = 0;
  lastTime = 0;
  readonly ranges = new Map<string, OffsetRange>();

  add(index: MemberIndex, textBytes: number): void {
    this.entries += index.offsets.length;
    this.textBytes += textBytes;
    this.members++;
    if (index.firstTime > 0) this.firstTime = this.firstTime === 0 ? index.firstTime : Math.min(this.firstTime, index.firstTime);
    this.lastTime = Math.max(this.lastTime, index.lastTime);
    const id = partitionKey(index.topic, index.partition);
    const first = index.offsets[0] as number;
    const last = index.offsets[index.offsets.length - 1] as number;
    const range = this.ranges.get(id);
    if (!range) this.ranges.set(id, { topic: index.topic, partition: index.partition, first, last });
    else {
      range.first = Math.min(range.first, first);
      range.last = Math.max(range.last, last);
    }
  }
}

/** A chunk listed for the merge was deleted before it could be read: a compaction ran meanwhile. */
export class ChunkVanishedError extends SparkfnError {
  constructor(readonly key: string) {
    super(`The chunk ${JSON.stringify(key)} was deleted while it was being merged (a compaction of the same stream ran meanwhile); merge again.`);
    this.name = 'ChunkVanishedError';
  }
}

/**
 * The members of a stream's compacted object and chunks as one sequence, in (topic, partition,
 * offset) order, each Kafka record once: an entry whose (topic, partition, offset) was already
 * emitted is dropped. Members with nothing to drop are passed through as stored (no
 * decompression); a member that loses some entries is re-encoded with the rest; one that loses
 * all is left out.
 *
 * Order: the compacted object's members are interleaved with the chunks by (topic, partition,
 * first offset); a chunk's members stay together. Dedup remembers, per partition, only the
 * offsets at or above the lowest first offset still to come, so memory follows the overlap
 * between re-deliveries, not the log's length. At most one compacted member and PREFETCH
 * chunks are in memory.
 *
 * With `dryRun`, nothing is decompressed or encoded: the members carry indexes only, so the
 * totals (lines, bytes, ranges) are known before anything is written.
 */
export async function* mergeMembers(
  store: ObjectStore,
  input: MergeInput,
  options: { gzipLevel: number; dryRun?: boolean; stats?: MergeStats },
): AsyncGenerator<MergedMember> {
  const stats = options.stats ?? new MergeStats();
  const windows = new Map<string, OffsetWindow>();
  const compacted = input.compactedKey ? streamMembers(await store.get(input.compactedKey), input.compactedKey) : undefined;
  let next: Member | undefined = compacted ? ((await compacted.next()).value as Member | undefined) : undefined;
  const chunks = input.chunks;
  const prefetched = new Map<number, Promise<Buffer>>();
  const fetch = (i: number) => {
    if (i >= chunks.length || prefetched.has(i)) return;
    const key = (chunks[i] as ChunkRef).key;
    const read = getBuffer(store, key).catch((err: unknown) => {
      throw err instanceof NotFoundError ? new ChunkVanishedError(key) : err;
    });
    read.catch(() => undefined); // awaited later; an early exit must not leave it unhandled
    prefetched.set(i, read);
  };

  const emit = async (member: Member, threshold: number, key: string): Promise<MergedMember | undefined> => {
    const { index } = member;
    const fromCompacted = key === input.compactedKey;
    const before = { dropped: stats.dropped, entries: stats.entries };
    try {
      return await emitMember(member, threshold, key, index);
    } finally {
      if (fromCompacted) stats.compactedDropped += stats.dropped - before.dropped;
      else stats.fromChunks += stats.entries - before.entries;
    }
  };

  const emitMember = async (member: Member, threshold: number, key: string, index: MemberIndex): Promise<MergedMember | undefined> => {
    const id = partitionKey(index.topic, index.partition);
    let window = windows.get(id);
    if (!window) windows.set(id, (window = new OffsetWindow()));
    window.prune(threshold);
    const keep = window.keepMask(index.offsets);
    if (keep === undefined) {
      window.addAll(index.offsets);
      stats.add(index, member.textBytes);
      return { index, textBytes: member.textBytes, ...(!options.dryRun && { bytes: member.bytes }), rewritten: false };
    }
    const kept = keep.reduce((n, k) => n + (k ? 1 : 0), 0);
    stats.dropped += index.offsets.length - kept;
    if (kept === 0) return undefined;
    const offsets: number[] = [];
    const lengths: number[] = [];
    let textBytes = 0;
    for (let i = 0; i < keep.length; i++) {
      if (!keep[i]) continue;
      offsets.push(index.offsets[i] as number);
      lengths.push(index.lengths[i] as number);
      textBytes += index.lengths[i] as number;
      window.add(index.offsets[i] as number);
    }
    const reduced: MemberIndex = { ...index, offsets, lengths };
    stats.add(reduced, textBytes);
    stats.rewritten++;
    if (options.dryRun) return { index: reduced, textBytes, rewritten: true };
    const text = await decodeMember(member, key);
    const parts: Buffer[] = [];
    let p = 0;
    for (let i = 0; i < keep.length; i++) {
      const length = index.lengths[i] as number;
      if (keep[i]) parts.push(text.subarray(p, p + length));
      p += length;
    }
    return { index: reduced, textBytes, bytes: await encodeMember(reduced, Buffer.concat(parts, textBytes), options.gzipLevel), rewritten: true };
  };

  try {
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c] as ChunkRef;
      for (let i = c; i < c + PREFETCH; i++) fetch(i);
      // Compacted members that sort before this chunk go first.
      while (next && compareStart(next.index, chunk) <= 0) {
        const out = await emit(next, next.index.offsets[0] as number, input.compactedKey as string);
        if (out) yield out;
        next = (await compacted!.next()).value as Member | undefined;
      }
      const body = await (prefetched.get(c) as Promise<Buffer>);
      prefetched.delete(c);
      const following = chunks[c + 1];
      const nextChunkFirst = following && following.topic === chunk.topic && following.partition === chunk.partition ? following.firstOffset : Infinity;
      for (const member of readMembers(body, chunk.key)) {
        if (member.index.topic !== chunk.topic || member.index.partition !== chunk.partition) {
          throw new SparkfnError(`The chunk ${JSON.stringify(chunk.key)} holds records of ${member.index.topic}-${member.index.partition}, not of the partition its key names.`);
        }
        const nextCompactedFirst = next && next.index.topic === chunk.topic && next.index.partition === chunk.partition ? (next.index.offsets[0] as number) : Infinity;
        const threshold = Math.min(member.index.offsets[0] as number, nextChunkFirst, nextCompactedFirst);
        const out = await emit(member, threshold, chunk.key);
        if (out) yield out;
      }
    }
    while (next) {
      const out = await emit(next, next.index.offsets[0] as number, input.compactedKey as string);
      if (out) yield out;
      next = (await compacted!.next()).value as Member | undefined;
    }
  } finally {
    await compacted?.return(undefined);
  }
}

/** Orders a member against a chunk by (topic, partition, first offset). */
function compareStart(index: MemberIndex, chunk: ChunkName): number {
  if (index.topic !== chunk.topic) return index.topic < chunk.topic ? -1 : 1;
  if (index.partition !== chunk.partition) return index.partition - chunk.partition;
  return (index.offsets[0] as number) - chunk.firstOffset;
}

/**
 * The offsets of one partition emitted so far that a later member could still repeat: sorted,
 * with everything below the lowest first offset still to come pruned away.
 */
class OffsetWindow {
  private offsets: number[] = [];
  private start = 0;
  /** Highest offset ever added. */
  private max = -1;

  prune(below: number): void {
    const o = this.offsets;
    while (this.start < o.length && (o[this.start] as number) < below) this.start++;
    if (this.start > 4096 && this.start * 2 > o.length) {
      this.offsets = o.slice(this.start);
      this.start = 0;
    }
  }

  /** undefined when every offset is new (the common case, decided by one comparison), else which ones are. */
  keepMask(offsets: readonly number[]): boolean[] | undefined {
    if ((offsets[0] as number) > this.max) return undefined;
    const keep = offsets.map((o) => !this.has(o));
    return keep.every(Boolean) ? undefined : keep;
  }

  addAll(offsets: readonly number[]): void {
    for (const o of offsets) this.add(o);
  }

  add(offset: number): void {
    const o = this.offsets;
    if (offset > this.max) {
      o.push(offset);
      this.max = offset;
      return;
    }
    const at = this.search(offset);
    if (o[at] !== offset) o.splice(at, 0, offset);
  }

  private has(offset: number): boolean {
    return this.offsets[this.search(offset)] === offset;
  }

  /** First position in [start, length) whose offset is >= `offset`. */
  private search(offset: number): number {
    let lo = this.start;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.offsets[mid] as number) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
