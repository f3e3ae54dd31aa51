import type { KubeClients } from '../../shared/k8s/client.js';
import { listExecutorStreams } from '../log-archiver/compact.js';
import type { LogStream } from '../log-archiver/identity.js';
import { appPrefix } from '../log-archiver/chunk-key.js';
import { readArchiveTail, secondOf } from './live-archive-tail.js';
import { liveCluster, type LogViewerDeps } from './live-cluster.js';
import { followPodLog, sleep } from './live-follow.js';
import { type ExecutorPod, findExecutorPod } from './live-pod.js';
import { type LiveLine, msOf, PodLogError, readPodLog, sinceTimeOf } from './live-pod-log.js';
import { findSeam, LiveCursor, type SeamKind } from './live-seam.js';
import { type LogSources, logRanges, logTail, logText, sourcesOf, tailLines } from './log-sources.js';

/** Where an answer's lines come from. */
export type LogSource = 'archive' | 'live' | 'archive+live';

/** Live lines of the seam window held in memory at most; past it every line up to the archive's last millisecond counts as archived (the seam by time). */
const MAX_SEAM_WINDOW_LINES = 100_000;

/** What to open. */
export interface ExecutorLogRequest {
  appId: string;
  executorId: string;
  stream: LogStream;
  /** Only the last N lines (of archive and live together; with `follow`, then the new ones). */
  tail?: number;
  /** Keep going with new lines until the pod ends (streaming hosts only). */
  follow?: boolean;
  /**
   * Start at this byte of the archive's text (a log page that shows the archive up to here
   * follows from its end): the archive from it, then the pod's log after the seam as always.
   */
  after?: number;
}

/** An executor's log, opened. */
export interface ExecutorLog {
  source: LogSource;
  /** The pod the live part comes from. */
  pod?: ExecutorPod;
  /** How archive and pod log were joined, when both are in it. */
  seam?: SeamKind;
  /** Why there is no live part although a cluster may have one (lookup failed, archive without event times). */
  liveSkipped?: string;
  /** The text, newline-terminated lines (a piece may hold many lines, or part of one, in the archive part). */
  text: AsyncIterable<Buffer>;
}

/** Where an executor stands: its pod while it exists. */
export interface PodStatus {
  /** Whether log-viewer could ask a cluster at all. */
  cluster: boolean;
  /** `live`: the pod exists (its log continues the archive); `archived`: no pod, the archive alone. */
  state: 'live' | 'archived';
  pod?: ExecutorPod;
}

/**
 * Where an executor's log is served from right now: its pod (name, node, container, phase) while
 * the pod exists, else the archive. `cluster: false` where the host has no cluster.
 * @example await podStatus('spark-1a2b', 'driver', deps) // { cluster: true, state: 'live', pod: { namespace: 'spark', name: 'etl-driver', node: 'vk-1', … } }
 */
export async function podStatus(appId: string, executorId: string, deps: LogViewerDeps): Promise<PodStatus> {
  const cluster = await liveCluster(deps);
  if (!cluster) return { cluster: false, state: 'archived' };
  const pod = await findExecutorPod(cluster.core, appId, executorId);
  return pod ? { cluster: true, state: 'live', pod } : { cluster: true, state: 'archived' };
}

/**
 * Opens an executor's log, running or finished: the archive, continued while the pod exists by
 * the pod's own log (`pods/log`), each line once across the seam (see README, "How the seam is
 * joined"); the archive alone after the pod is gone or where there is no cluster; the pod's log
 * alone before anything was archived. `{ missing }` when neither has anything.
 * @example
 * const log = await openExecutorLog({ appId: 'spark-1a2b', executorId: '3', stream: 'stderr', follow: true }, deps);
 * if (!('missing' in log)) for await (const piece of log.text) process.stdout.write(piece);
 */
export async function openExecutorLog(req: ExecutorLogRequest, deps: LogViewerDeps): Promise<ExecutorLog | { missing: 'app' | 'executor' }> {
  const { store, signal } = deps;
  const streams = (await listExecutorStreams(store, req.appId, req.executorId)).map(sourcesOf);
  const own: LogSources | undefined = streams.length === 0 ? undefined : (streams.find((s) => s.stream === req.stream) ?? { appId: req.appId, executorId: req.executorId, stream: req.stream, chunks: [] });

  let cluster: KubeClients | undefined;
  let pod: ExecutorPod | undefined;
  let liveSkipped: string | undefined;
  try {
    cluster = await liveCluster(deps);
    pod = cluster ? await findExecutorPod(cluster.core, req.appId, req.executorId) : undefined;
  } catch (err) {
    liveSkipped = `the pod lookup failed: ${(err as Error).message}`;
    deps.logger.warn({ err, appId: req.appId, executorId: req.executorId }, 'log-viewer: pod lookup failed; serving the archive alone');
  }

  if (!pod || !cluster) {
    if (!own) {
      const app = await store.list(appPrefix(req.appId), { limit: 1 });
      return { missing: app.objects.length === 0 ? 'app' : 'executor' };
    }
    const archived = { source: 'archive' as const, ...(liveSkipped ? { liveSkipped } : {}) };
    // The archive alone: its index lets a tail read only the last members.
    if (req.tail !== undefined) return { ...archived, text: oneBuffer(logTail(store, own, req.tail, signal)) };
    return finish(req, { ...archived, text: archiveText(store, own, req.after, signal) });
  }

  const cursor = new LiveCursor();
  if (!own) {
    // Nothing archived yet: the pod's log from its start (a restarted container's previous instance first).
    const lines = chain<LiveLine>(pod.restartCount > 0 ? previousLines(cluster, pod, undefined, signal) : empty(), untilStarted(readPodLog(cluster.kubeConfig, podLogRequest(pod, undefined, signal))));
    return finish(req, { source: 'live', pod, text: live(admitted(lines, cursor)) }, { cluster, pod, cursor, signal, deps });
  }

  const tail = await readArchiveTail(store, streams);
  if (tail.lastTimeMs === 0) {
    const why = 'the archived lines carry no event times, so the pod log cannot be joined to them';
    return finish(req, { source: 'archive', pod, liveSkipped: why, text: archiveText(store, own, req.after, signal) });
  }
  const since = sinceTimeOf(BigInt(secondOf(tail.lastTimeMs)) * 1_000_000n);
  const sinceMs = secondOf(tail.lastTimeMs);
  // The seam may lie in the instance before a restart: its lines from that second on come first.
  const previousFinished = pod.previousFinishedAt ? Date.parse(pod.previousFinishedAt) : Number.NaN;
  const withPrevious = pod.restartCount > 0 && !(previousFinished + 1000 < sinceMs);
  const head: LiveLine[] = [];
  let previous: LiveLine[] = [];
  let currentDone = false;
  try {
    // The previous instance has ended: what it wrote since that second is read whole.
    if (withPrevious) for await (const line of previousLines(cluster, pod, since, signal)) previous.push(line);
    const current = readPodLog(cluster.kubeConfig, podLogRequest(pod, since, signal));
    const window = chain<LiveLine>(previous, current);
    try {
      let next = await window.next();
      while (!next.done && msOf(next.value.timeNs) <= tail.lastTimeMs && head.length < MAX_SEAM_WINDOW_LINES) {
        head.push(next.value);
        next = await window.next();
      }
      currentDone = next.done === true;
    } finally {
      // Closed now, not left paused while the archive streams (or for good, after a HEAD): the rest is read again from the cursor.
      await window.return(undefined);
    }
  } catch (err) {
    if (signal?.aborted) throw err;
    // The pod is there but its log is not (forbidden, not started, gone meanwhile, the apiserver unreachable): the archive alone, saying why.
    deps.logger.warn({ err, pod: `${pod.namespace}/${pod.name}` }, 'log-viewer: the pod log could not be read; serving the archive alone');
    return finish(req, { source: 'archive', pod, liveSkipped: (err as Error).message, text: archiveText(store, own, req.after, signal) });
  }
  // A window too long to hold: every line of the archive's millisecond or before counts as archived (the seam by time).
  const overflow = head.length >= MAX_SEAM_WINDOW_LINES;
  const seam = overflow ? { index: head.length, kind: 'time' as const } : findSeam(head, tail.entries, tail.lastTimeMs);
  // The overlap went out from the archive: the cursor knows it, so that reading on (or following) from this second repeats none of it.
  for (const line of head.slice(0, seam.index)) cursor.admit(line);
  const fromPrevious = previous.slice(Math.min(head.length, previous.length));
  previous = [];
  const rest = (async function* (): AsyncGenerator<LiveLine> {
    for (const line of head.slice(seam.index)) if (cursor.admit(line)) yield line;
    for (const line of fromPrevious) if (cursor.admit(line)) yield line;
    if (currentDone) return;
    cursor.resume();
    const from = cursor.lastTimeNs !== undefined ? sinceTimeOf(cursor.lastTimeNs) : since;
    for await (const line of readPodLog(cluster.kubeConfig, podLogRequest(pod, from, signal))) {
      if (overflow && msOf(line.timeNs) <= tail.lastTimeMs) cursor.admit(line);
      else if (cursor.admit(line)) yield line;
    }
  })();
  const text = chainBuffers(archiveText(store, own, req.after, signal), live(rest));
  return finish(req, { source: 'archive+live', pod, seam: seam.kind, text }, { cluster, pod, cursor, since, signal, deps });
}

/** The archive's text, from byte `after` on when given (through the index when it can serve: only the members from there are read). */
async function* archiveText(store: LogViewerDeps['store'], sources: LogSources, after: number | undefined, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  if (!after) {
    yield* logText(store, sources, signal);
    return;
  }
  yield* (await logRanges(store, sources)).read(after, Number.MAX_SAFE_INTEGER, signal);
}

function podLogRequest(pod: ExecutorPod, since: string | undefined, signal: AbortSignal | undefined) {
  return { namespace: pod.namespace, pod: pod.name, container: pod.container, ...(since ? { sinceTime: since } : {}), ...(signal ? { signal } : {}) };
}

/** A container's lines; none while it has not started (the kubelet answers 400 "waiting to start"). */
async function* untilStarted(lines: AsyncGenerator<LiveLine>): AsyncGenerator<LiveLine> {
  try {
    yield* lines;
  } catch (err) {
    if (err instanceof PodLogError && err.code === 400) return;
    throw err;
  }
}

/** The previous instance's lines (none when the kubelet kept none). */
async function* previousLines(cluster: KubeClients, pod: ExecutorPod, since: string | undefined, signal: AbortSignal | undefined): AsyncGenerator<LiveLine> {
  try {
    yield* readPodLog(cluster.kubeConfig, { ...podLogRequest(pod, since, signal), previous: true });
  } catch (err) {
    if (err instanceof PodLogError && err.code === 400) return;
    throw err;
  }
}

interface FollowOn {
  cluster: KubeClients;
  pod: ExecutorPod;
  cursor: LiveCursor;
  since?: string;
  signal: AbortSignal | undefined;
  deps: LogViewerDeps;
}

/** Applies `tail` and `follow` to the log up to now. */
function finish(req: ExecutorLogRequest, log: ExecutorLog, followOn?: FollowOn): ExecutorLog {
  const upToNow = log.text;
  const follow = req.follow && followOn ? followed(followOn) : undefined;
  if (req.tail === undefined && !follow) return log;
  const text = (async function* () {
    if (req.tail !== undefined) yield await tailLines(upToNow, req.tail);
    else yield* upToNow;
    if (follow) yield* follow;
  })();
  return { ...log, text };
}

async function* followed(on: FollowOn): AsyncGenerator<Buffer> {
  try {
    yield* live(followPodLog({
      cluster: on.cluster,
      pod: on.pod,
      cursor: on.cursor,
      ...(on.since ? { since: on.since } : {}),
      ...(on.signal ? { signal: on.signal } : {}),
      sleep: on.deps.sleep ?? sleep,
    }));
  } catch (err) {
    // The response is cut (the client sees it incomplete); the reason goes to the log.
    on.deps.logger.warn({ err, pod: `${on.pod.namespace}/${on.pod.name}` }, 'log-viewer: following the pod log failed');
    throw err;
  }
}

async function* admitted(lines: AsyncIterable<LiveLine>, cursor: LiveCursor): AsyncGenerator<LiveLine> {
  for await (const line of lines) if (cursor.admit(line)) yield line;
}

async function* live(lines: AsyncIterable<LiveLine>): AsyncGenerator<Buffer> {
  for await (const line of lines) yield Buffer.from(`${line.text}\n`);
}

async function* chain<T>(...parts: (AsyncIterable<T> | Iterable<T>)[]): AsyncGenerator<T> {
  for (const part of parts) yield* part;
}

const chainBuffers = chain<Buffer>;

async function* empty<T>(): AsyncGenerator<T> {
  // Nothing.
}

/** A text of one piece, read when the iteration starts. */
async function* oneBuffer(piece: Promise<Buffer>): AsyncIterable<Buffer> {
  yield await piece;
}
