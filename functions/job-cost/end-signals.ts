import type { CoreV1Event } from '@kubernetes/client-node';
import * as z from 'zod';
import { InvalidInputError } from '../../shared/errors.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import type { HttpInput } from '../../shared/platform/trigger.js';
import { eventTimeOf, readOperatorEvent } from '../../shared/spark/operator-events.js';
import type { LedgerPod, PendingFacts } from './ledger.js';

/** spark-operator reasons that end an application (involvedObject kind SparkApplication). */
export { APP_END_REASONS } from '../../shared/spark/operator-events.js';
/** ECI: the spot instance could not be had and an on-demand one was created instead: billed on-demand. */
export const SPOT_DEGRADED_REASONS: ReadonlySet<string> = new Set(['SpotDegraded']);
/** ECI: the spot instance is (about to be) reclaimed, or its bid failed. */
export const SPOT_RECLAIM_REASONS: ReadonlySet<string> = new Set(['SpotToBeReleased', 'BidFailed']);

/** An application that ended, as one signal says it. */
export interface AppEnd {
  namespace: string;
  appId?: string;
  /** The SparkApplication's name (spark-operator events), resolved to an app id by resolveAppId. */
  appName?: string;
  /** The driver pod the event names (spark-operator events). */
  driverPod?: string;
  endTime?: number;
  via: 'spark-operator' | 'driver-pod' | 'http';
}

/** Ledger facts about a pod known only by name. */
export interface PodFacts {
  namespace: string;
  podName: string;
  facts: PendingFacts;
  /** The SparkApplication the event is about, when it names one. */
  appName?: string;
}

/**
 * What one Kubernetes event means for cost: an app end, pod facts, or nothing. spark-operator's
 * events are read by shared/spark/operator-events.ts in the formats of v1beta2-1.3.x, v2.x and
 * the main branch (events.k8s.io, `<app>%!(EXTRA string=<pod>)`).
 */
export function readEvent(event: CoreV1Event): { end?: AppEnd; facts?: PodFacts } {
  const operator = readOperatorEvent(event);
  if (operator?.kind === 'app-end') {
    return { end: { namespace: operator.namespace, appName: operator.sparkApplication, driverPod: operator.driverPod, via: 'spark-operator', ...(operator.at !== undefined ? { endTime: operator.at } : {}) } };
  }
  if (operator?.kind === 'executor' && operator.at !== undefined && (operator.state === 'running' || operator.state === 'completed' || operator.state === 'failed')) {
    const facts: PendingFacts = operator.state === 'running' ? { start: operator.at } : { end: operator.at, endReason: 'executor-event' };
    return { facts: { namespace: operator.namespace, podName: operator.pod, appName: operator.sparkApplication, facts: { ...facts, ...(operator.executorId ? { executorId: operator.executorId } : {}) } } };
  }
  if (operator) return {};
  const reason = event.reason ?? '';
  const object = event.involvedObject ?? {};
  const namespace = object.namespace ?? event.metadata?.namespace;
  const at = eventTimeOf(event);
  if (!namespace || !object.name) return {};
  if (object.kind === 'Pod' && at !== undefined) {
    if (SPOT_DEGRADED_REASONS.has(reason)) return { facts: { namespace, podName: object.name, facts: { degradedAt: at } } };
    if (SPOT_RECLAIM_REASONS.has(reason)) return { facts: { namespace, podName: object.name, facts: { reclaimedAt: at } } };
  }
  return {};
}

/** A driver pod that reached Succeeded or Failed ends its app. */
export function endOfDriverPod(pod: LedgerPod): AppEnd | undefined {
  if (pod.role !== 'driver' || (pod.phase !== 'Succeeded' && pod.phase !== 'Failed')) return undefined;
  return { namespace: pod.namespace, appId: pod.appId, via: 'driver-pod', ...(pod.end !== undefined ? { endTime: pod.end } : {}) };
}

/** The body a Spark listener or submitter posts: `{appId, namespace, endTime}` (endTime: ms or RFC 3339). */
export const appEndBodySchema = z.looseObject({
  appId: z.string().min(1),
  namespace: z.string().min(1),
  endTime: z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((t) => Date.parse(t))]).optional(),
});

/** The route the listener posts to under `sparkfn serve`. */
export const APP_END_PATH = '/job-cost/app-end';

/**
 * What an HTTP request to job-cost carries: the listener's app end, or Kubernetes events (kube-eventer's
 * webhook sink posting to the function's URL on FC or Lambda, where the adapter hands job-cost the
 * request as it is because job-cost takes HTTP too). InvalidInputError (a 400) when it is neither.
 */
export function readHttpInput(input: HttpInput): { end: AppEnd } | { events: CoreV1Event[] } {
  if (input.method === 'POST') {
    let inner: ReturnType<typeof normalizeTrigger> | undefined;
    try {
      inner = normalizeTrigger(input.body);
    } catch {
      inner = undefined;
    }
    if (inner?.kind === 'k8s-events') return { events: inner.events };
  }
  return { end: readHttpEnd(input) };
}

/** The app end an HTTP request carries; InvalidInputError (a 400) when the body is not one. */
export function readHttpEnd(input: HttpInput): AppEnd {
  if (input.method !== 'POST') throw new InvalidInputError(`job-cost takes POST ${APP_END_PATH}, not ${input.method}.`, 'method-not-allowed');
  let body: unknown;
  try {
    body = JSON.parse(input.body.toString('utf8'));
  } catch {
    throw new InvalidInputError('The request body is not JSON; send {"appId", "namespace", "endTime"}.', 'bad-body');
  }
  const parsed = appEndBodySchema.safeParse(body);
  if (!parsed.success) throw new InvalidInputError(`The request body is not an app end: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}.`, 'bad-body');
  const { appId, namespace, endTime } = parsed.data;
  return { appId, namespace, via: 'http', ...(endTime !== undefined ? { endTime } : {}) };
}
