import { DEFAULT_ARCHIVER_GZIP_LEVEL } from '../../shared/config.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { compareText } from '../log-archiver/chunk-key.js';
import { decodeMember, type MemberIndex } from '../log-archiver/gzip-member.js';
import { mergeMembers } from '../log-archiver/merge-members.js';
import type { LogSources } from './log-sources.js';

/** The end of an executor's archive, both streams, as the seam needs it. */
export interface ArchiveTail {
  /** Time of the newest archived entry (ms, Filebeat's `@timestamp`); 0 when no entry has one. */
  lastTimeMs: number;
  /**
   * The archived entries from the members that may hold lines of `lastTimeMs`'s second or
   * later, both streams merged in (topic, partition, offset) order, without their newlines.
   */
  entries: string[];
}

interface Kept {
  index: MemberIndex;
  bytes: Buffer;
  key: string;
}

/** The start of the second holding `ms`. */
export const secondOf = (ms: number): number => Math.floor(ms / 1000) * 1000;

/**
 * Reads the end of an executor's archive (every stream in `streams`) for the seam. Members are
 * read through their gzip headers (log-archiver's member index: offsets, lengths, first and last
 * event time); only those whose last entry is in the newest archived second or later are
 * decompressed, so the work beyond reading the objects is a few members.
 */
export async function readArchiveTail(store: ObjectStore, streams: readonly LogSources[]): Promise<ArchiveTail> {
  let lastTimeMs = 0;
  let kept: Kept[] = [];
  for (const sources of streams) {
    for await (const member of mergeMembers(store, sources, { gzipLevel: DEFAULT_ARCHIVER_GZIP_LEVEL })) {
      const { index } = member;
      if (index.lastTime > lastTimeMs) {
        lastTimeMs = index.lastTime;
        kept = kept.filter((k) => k.index.lastTime >= secondOf(lastTimeMs));
      }
      if (member.bytes && index.lastTime >= secondOf(lastTimeMs)) kept.push({ index, bytes: member.bytes as Buffer, key: sources.compactedKey ?? sources.chunks[0]?.key ?? '' });
    }
  }
  if (lastTimeMs === 0) return { lastTimeMs, entries: [] };
  const entries: { topic: string; partition: number; offset: number; text: string }[] = [];
  for (const { index, bytes, key } of kept) {
    const text = await decodeMember({ index, bytes, textBytes: index.lengths.reduce((a, b) => a + b, 0) }, key);
    let at = 0;
    index.offsets.forEach((offset, i) => {
      const length = index.lengths[i] as number;
      const entry = text.subarray(at, at + length).toString('utf8');
      at += length;
      entries.push({ topic: index.topic, partition: index.partition, offset, text: entry.endsWith('\n') ? entry.slice(0, -1) : entry });
    });
  }
  entries.sort((a, b) => compareText(a.topic, b.topic) || a.partition - b.partition || a.offset - b.offset);
  return { lastTimeMs, entries: entries.map((e) => e.text) };
}
