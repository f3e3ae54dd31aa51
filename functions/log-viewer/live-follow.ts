import type { KubeClients } from '../../shared/k8s/client.js';
import { SparkfnError } from '../../shared/errors.js';
import { containerEnded, type ExecutorPod, readExecutorPod } from './live-pod.js';
import { type LiveLine, PodLogDroppedError, PodLogError, readPodLog, sinceTimeOf } from './live-pod-log.js';
import type { LiveCursor } from './live-seam.js';

/** Reconnects in a row without a new line before following gives up (the response is then cut). */
export const MAX_FOLLOW_RECONNECTS = 5;
/** First wait before a reconnect; doubled each time, up to FOLLOW_BACKOFF_MAX_MS. */
export const FOLLOW_BACKOFF_MS = 200;
const FOLLOW_BACKOFF_MAX_MS = 5_000;

/** Following stopped after MAX_FOLLOW_RECONNECTS reconnects that brought nothing. */
export class FollowGaveUpError extends SparkfnError {
  constructor(pod: ExecutorPod, cause: unknown) {
    super(`Gave up following pod ${pod.namespace}/${pod.name} after ${MAX_FOLLOW_RECONNECTS} reconnects: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'FollowGaveUpError';
  }
}

/** What following needs. */
export interface FollowContext {
  cluster: KubeClients;
  pod: ExecutorPod;
  cursor: LiveCursor;
  /** Where to start when no line went out yet (RFC3339, second precision), else the container's start. */
  since?: string;
  signal?: AbortSignal;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * The pod's new lines as they are written: `pods/log?follow=true`, from the cursor's second on,
 * lines the cursor already passed dropped. A stream that ends while the container still runs
 * was dropped (an apiserver restart, a proxy timeout, a reset): it is opened again from the last
 * line seen, up to MAX_FOLLOW_RECONNECTS times in a row without progress. A restart of the
 * container while following: the rest of the ended instance (`previous`) first. Ends when the
 * container has ended and its last lines went out, or when the pod is gone.
 */
export async function* followPodLog(ctx: FollowContext): AsyncGenerator<LiveLine> {
  const { cluster, cursor, signal } = ctx;
  let pod = ctx.pod;
  let failures = 0;
  for (;;) {
    if (signal?.aborted) return;
    const from = cursor.lastTimeNs !== undefined ? sinceTimeOf(cursor.lastTimeNs) : ctx.since;
    let cause: unknown;
    try {
      cursor.resume();
      for await (const line of readPodLog(cluster.kubeConfig, { namespace: pod.namespace, pod: pod.name, container: pod.container, follow: true, ...(from ? { sinceTime: from } : {}), ...(signal ? { signal } : {}) })) {
        if (!cursor.admit(line)) continue;
        failures = 0;
        yield line;
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof PodLogError && err.code === 404) return;
      if (!(err instanceof PodLogDroppedError) && !(err instanceof PodLogError)) throw err;
      cause = err;
    }
    const now = await readExecutorPod(cluster.core, pod.namespace, pod.name);
    if (!now) return;
    if (now.restartCount > pod.restartCount || (now.containerId && pod.containerId && now.containerId !== pod.containerId)) {
      // The instance we followed ended: what it wrote after the cut is in `previous` now.
      yield* rest(ctx, now, true);
    }
    if (containerEnded(now)) {
      yield* rest(ctx, now, false);
      return;
    }
    pod = now;
    if (cause !== undefined || failures > 0) {
      failures++;
      if (failures > MAX_FOLLOW_RECONNECTS) throw new FollowGaveUpError(pod, cause ?? new Error('the stream kept ending'));
    } else {
      // A clean end while the container runs is a drop too; the first one reconnects at once.
      failures = 1;
    }
    await ctx.sleep(Math.min(FOLLOW_BACKOFF_MS * 2 ** (failures - 1), FOLLOW_BACKOFF_MAX_MS), signal);
  }
}

/** The lines of an instance after the cursor, without following. */
async function* rest(ctx: FollowContext, pod: ExecutorPod, previous: boolean): AsyncGenerator<LiveLine> {
  const from = ctx.cursor.lastTimeNs !== undefined ? sinceTimeOf(ctx.cursor.lastTimeNs) : ctx.since;
  ctx.cursor.resume();
  try {
    for await (const line of readPodLog(ctx.cluster.kubeConfig, { namespace: pod.namespace, pod: pod.name, container: pod.container, previous, ...(from ? { sinceTime: from } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) })) {
      if (ctx.cursor.admit(line)) yield line;
    }
  } catch (err) {
    // Gone meanwhile (pod deleted, no previous instance kept): nothing more to read.
    if (err instanceof PodLogError && (err.code === 404 || err.code === 400)) return;
    throw err;
  }
}

/** Waits `ms`, or less when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
