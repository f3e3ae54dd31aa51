import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { appPrefix, compactedKey, compareChunks } from '../log-archiver/chunk-key.js';
import { type StreamObjects, listStreams } from '../log-archiver/compact.js';
import { DRIVER_EXECUTOR_ID, type LogStream } from '../log-archiver/identity.js';
import { META, partitionKey } from '../log-archiver/object-metadata.js';
import { LOGS_ROUTE } from './log-path.js';

/** HEADs at once for time ranges. */
const HEAD_CONCURRENCY = 16;

/** One stream of one executor, as `/logs/<appId>` lists it. */
export interface StreamListing {
  stream: LogStream;
  /** Where to read it: `/logs/<appId>/<executorId>/<stream>`. */
  path: string;
  /** Bytes stored (gzip), compacted object and chunks together. */
  storedBytes: number;
  compacted: boolean;
  /** Chunks not compacted yet. */
  chunks: number;
  /** Event times of the first and last line, when the objects say. */
  firstEventTime: string | null;
  lastEventTime: string | null;
}

export interface AppListing {
  appId: string;
  /** Namespace and Spark app name from the objects' metadata, when Filebeat said. */
  namespace?: string;
  appName?: string;
  /** `podName`: the executor's pod, from the objects' metadata. */
  executors: { executorId: string; podName?: string; streams: StreamListing[] }[];
}

/**
 * The executors and streams of an app with their sizes and time ranges, or undefined when
 * nothing is archived for it. Time ranges come from the metadata of the compacted object and of
 * the first and last chunk of each partition: a few HEADs per stream, however many chunks.
 */
export async function listApp(store: ObjectStore, appId: string): Promise<AppListing | undefined> {
  const streams = await listStreams(store, appPrefix(appId));
  if (streams.length === 0) return undefined;
  const described = await mapConcurrently(streams, HEAD_CONCURRENCY, (s) => describeStream(store, s));
  const executors = new Map<string, StreamListing[]>();
  const pods = new Map<string, string>();
  let namespace: string | undefined;
  let appName: string | undefined;
  streams.forEach((s, i) => {
    const { listing, metadata } = described[i] as { listing: StreamListing; metadata: Record<string, string> };
    executors.set(s.executorId, [...(executors.get(s.executorId) ?? []), listing]);
    const pod = metadata[META.podName];
    if (pod) pods.set(s.executorId, pod);
    namespace ??= metadata[META.namespace];
    appName ??= metadata[META.appName];
  });
  return {
    appId,
    ...(namespace !== undefined && { namespace }),
    ...(appName !== undefined && { appName }),
    executors: [...executors.keys()].sort(compareExecutors).map((executorId) => ({
      executorId,
      ...(pods.has(executorId) && { podName: pods.get(executorId) as string }),
      streams: (executors.get(executorId) as StreamListing[]).sort((a, b) => (a.stream < b.stream ? -1 : 1)),
    })),
  };
}

async function describeStream(store: ObjectStore, s: StreamObjects): Promise<{ listing: StreamListing; metadata: Record<string, string> }> {
  const chunks = [...s.chunks].sort(compareChunks);
  // A partition's first chunk holds its earliest lines, its last chunk its latest.
  const ends = new Map<string, { first: string; last: string }>();
  for (const c of chunks) {
    const id = partitionKey(c.topic, c.partition);
    const known = ends.get(id);
    ends.set(id, { first: known?.first ?? c.key, last: c.key });
  }
  const keys = new Set<string>([...(s.compacted ? [compactedKey(s.appId, s.executorId, s.stream)] : []), ...[...ends.values()].flatMap((e) => [e.first, e.last])]);
  const heads = await Promise.all([...keys].map((key) => store.head(key)));
  let first: string | null = null;
  let last: string | null = null;
  const metadata: Record<string, string> = {};
  for (const head of heads) {
    for (const name of [META.namespace, META.podName, META.appName]) {
      const value = head?.metadata[name];
      if (value !== undefined) metadata[name] ??= value;
    }
    const f = head?.metadata[META.firstEventTime];
    const l = head?.metadata[META.lastEventTime];
    if (f && (first === null || f < first)) first = f;
    if (l && (last === null || l > last)) last = l;
  }
  const listing: StreamListing = {
    stream: s.stream,
    path: `${LOGS_ROUTE}${s.appId}/${s.executorId}/${s.stream}`,
    storedBytes: (s.compacted?.size ?? 0) + s.chunks.reduce((n, c) => n + c.size, 0),
    compacted: s.compacted !== undefined,
    chunks: s.chunks.length,
    firstEventTime: first,
    lastEventTime: last,
  };
  return { listing, metadata };
}

/** `driver` first, then executors by number, then any other id. */
export function compareExecutors(a: string, b: string): number {
  const rank = (id: string) => (id === DRIVER_EXECUTOR_ID ? 0 : /^\d+$/.test(id) ? 1 : 2);
  return rank(a) - rank(b) || (rank(a) === 1 ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0);
}
