import type { PutOptions } from '../../shared/store/object-store.js';
import { type ChunkName, chunkKey } from './chunk-key.js';
import { SYNC_GZIP_MAX_BYTES, encodeMember, encodeMemberSync, memberBoundaries } from './gzip-member.js';
import { META, isoTime, metadataValue } from './object-metadata.js';
import type { LogStream } from './identity.js';
import type { LogEntry } from './parse-record.js';

/** Every chunk and compacted object is served as this (its bytes are gzip, see contentEncoding). */
export const LOG_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** The entries of one batch for one (app, executor, stream, topic, partition), by offset. */
export interface ChunkGroup {
  name: ChunkName;
  entries: LogEntry[];
}

/** A chunk ready to put. */
export interface BuiltChunk {
  key: string;
  body: Buffer;
  options: PutOptions;
  lines: number;
  textBytes: number;
}

const NEWLINE = 0x0a;

/**
 * Groups entries by (app, executor, stream, topic, partition), each group sorted by offset.
 * Entries must be unique per (topic, partition, offset).
 */
export function groupEntries(entries: readonly LogEntry[]): ChunkGroup[] {
  // Maps nested by partition, app, executor and stream rather than one map keyed by a joined
  // string: joining allocates and hashes a new string per entry, a lookup by each id does not.
  const lists: LogEntry[][] = [];
  const byPartition = new Map<string, Map<string, Map<string, Partial<Record<LogStream, LogEntry[]>>>>>();
  let topic = '';
  let partition = -1;
  let apps: Map<string, Map<string, Partial<Record<LogStream, LogEntry[]>>>> | undefined;
  for (const e of entries) {
    if (!apps || e.partition !== partition || e.topic !== topic) {
      topic = e.topic;
      partition = e.partition;
      const id = `${topic}\u0000${partition}`;
      apps = byPartition.get(id);
      if (!apps) byPartition.set(id, (apps = new Map()));
    }
    let executors = apps.get(e.appId);
    if (!executors) apps.set(e.appId, (executors = new Map()));
    let streams = executors.get(e.executorId);
    if (!streams) executors.set(e.executorId, (streams = {}));
    let list = streams[e.stream];
    if (!list) lists.push((list = streams[e.stream] = []));
    list.push(e);
  }
  return lists.map((list) => {
    for (let i = 1; i < list.length; i++) {
      if ((list[i] as LogEntry).offset < (list[i - 1] as LogEntry).offset) {
        list.sort((a, b) => a.offset - b.offset);
        break;
      }
    }
    const first = list[0] as LogEntry;
    const name: ChunkName = {
      appId: first.appId,
      executorId: first.executorId,
      stream: first.stream,
      topic: first.topic,
      partition: first.partition,
      firstOffset: first.offset,
      lastOffset: (list[list.length - 1] as LogEntry).offset,
    };
    return { name, entries: list };
  });
}

/**
 * The chunk object of one group: its lines, newline-terminated, in offset order, as gzip
 * members that carry the offsets of their lines; metadata for people and the viewer.
 * @example const chunk = await buildChunk(group, 6); await store.put(chunk.key, chunk.body, chunk.options);
 */
export async function buildChunk(group: ChunkGroup, level: number, maxMemberTextBytes?: number): Promise<BuiltChunk> {
  const { entries, name } = group;
  const offsets = entries.map((e) => e.offset);
  const lengths = entries.map((e) => e.line.length + 1);
  const members: Promise<Buffer>[] = [];
  let start = 0;
  for (const end of memberBoundaries(name.topic, offsets, lengths, maxMemberTextBytes)) {
    let size = 0;
    for (let i = start; i < end; i++) size += lengths[i] as number;
    const sync = size <= SYNC_GZIP_MAX_BYTES;
    const text = sync ? scratchText(size) : Buffer.allocUnsafe(size);
    let p = 0;
    let firstTime = 0;
    let lastTime = 0;
    for (let i = start; i < end; i++) {
      const e = entries[i] as LogEntry;
      // TypedArray#set: a plain memory copy, without Buffer#copy's argument handling.
      text.set(e.line, p);
      p += e.line.length;
      text[p++] = NEWLINE;
      if (e.time > 0) {
        firstTime = firstTime === 0 ? e.time : Math.min(firstTime, e.time);
        lastTime = Math.max(lastTime, e.time);
      }
    }
    const index = { topic: name.topic, partition: name.partition, offsets: offsets.slice(start, end), lengths: lengths.slice(start, end), firstTime, lastTime };
    members.push(sync ? Promise.resolve(encodeMemberSync(index, text, level)) : encodeMember(index, text, level));
    start = end;
  }
  const body = Buffer.concat(await Promise.all(members));
  const textBytes = lengths.reduce((a, b) => a + b, 0);
  return { key: chunkKey(name), body, options: chunkOptions(entries, textBytes), lines: entries.length, textBytes };
}

/**
 * Where the text of a member compressed on this thread is put together: one buffer for every
 * chunk, since encodeMemberSync is done with it before it returns. A fresh buffer per chunk
 * (tens of KiB, outside Buffer's pool) cost as much as the copying, in allocation and GC.
 */
let scratch: Buffer | undefined;
function scratchText(size: number): Buffer {
  scratch ??= Buffer.allocUnsafe(SYNC_GZIP_MAX_BYTES);
  return scratch.subarray(0, size);
}

function chunkOptions(entries: readonly LogEntry[], textBytes: number): PutOptions {
  const metadata: Record<string, string> = { [META.lineCount]: String(entries.length), [META.textBytes]: String(textBytes) };
  const first = entries[0] as LogEntry;
  if (first.appType) metadata[META.appType] = metadataValue(first.appType);
  const withPod = entries.find((e) => e.podName);
  if (withPod?.namespace) metadata[META.namespace] = metadataValue(withPod.namespace);
  if (withPod?.podName) metadata[META.podName] = metadataValue(withPod.podName);
  const named = entries.find((e) => e.appName);
  if (named?.appName) metadata[META.appName] = metadataValue(named.appName);
  let min = 0;
  let max = 0;
  for (const e of entries) {
    if (e.time <= 0) continue;
    min = min === 0 ? e.time : Math.min(min, e.time);
    max = Math.max(max, e.time);
  }
  const firstIso = isoTime(min);
  const lastIso = isoTime(max);
  if (firstIso) metadata[META.firstEventTime] = firstIso;
  if (lastIso) metadata[META.lastEventTime] = lastIso;
  return { contentType: LOG_CONTENT_TYPE, contentEncoding: 'gzip', metadata };
}
