import type { CoreV1Event } from '@kubernetes/client-node';
import type { Placement, PodLike } from './placement.js';
import { locationsOf } from './placement.js';

/**
 * What an ECI event or pod change tells spot-fallback:
 * - `stock-out`: spot (or on-demand) stock ran out where the pod tried — opens a breaker;
 * - `degraded`: the pod asked for spot with fallback and was created on-demand (`SpotDegraded`) —
 *   a stock-out, and the pod must be billed as on-demand;
 * - `reclaim`: the spot instance is about to be released (`SpotToBeReleased`) or was (`BidFailed`) —
 *   a stock-out for that zone (Karpenter marks an interrupted offering unavailable too) and a
 *   reclaim counted against the app.
 */
export type SignalKind = 'stock-out' | 'degraded' | 'reclaim';

/** ECI / virtual-kubelet event reasons and what they mean (https://www.alibabacloud.com/help/en/eci/user-guide/custom-events-of-elastic-container-instance). */
export const SIGNAL_REASONS: Readonly<Record<string, SignalKind>> = {
  NoStock: 'stock-out',
  StockExhaust: 'stock-out',
  StockClose: 'stock-out',
  SpotDegraded: 'degraded',
  SpotToBeReleased: 'reclaim',
  // virtual-kubelet's event when ECI refused the create; only a stock-out when its message says so.
  ProviderCreateFailed: 'stock-out',
};

/** The pod ended Failed with this reason when ECI released its spot instance. */
export const BID_FAILED = 'BidFailed';

/** Stock-out wording inside a ProviderCreateFailed message (the ECI error it wraps). */
const STOCK_OUT_TEXT = /NoStock|StockExhaust|StockClose|out of stock|stock of the specified zones|zone closed/i;
/** An Alibaba Cloud zone id: cn-hangzhou-h, ap-southeast-1a, cn-beijing-finance-1-a. */
const ZONE = /\b[a-z]{2}-[a-z]+(?:-[a-z0-9]+)*-[a-z0-9]\b|\b[a-z]{2}-[a-z]+-\d[a-z]\b/g;
const VSWITCH = /\bvsw-[a-z0-9]+\b/g;
/** An ECS type (ecs.c6.xlarge) or a cpu-memory spec (2-4Gi, 2.0-8.0Gi). */
const SPEC = /\becs\.[a-z0-9-]+\.[a-z0-9]+\b|\b\d+(?:\.\d+)?-\d+(?:\.\d+)?Gi\b/g;
const RELEASE_MINUTES = /released in (\d+) minutes?/i;

/** One signal about one pod. */
export interface Signal {
  kind: SignalKind;
  /** The ECI reason (`NoStock`, `BidFailed`…). */
  reason: string;
  message: string;
  namespace: string;
  pod: string;
  podUid?: string;
  /** When it happened (ms). */
  at: number;
  /** `SpotToBeReleased`: minutes until release. */
  releaseInMinutes?: number;
}

/** The signal an event carries, or why it carries none. */
export function signalFromEvent(event: CoreV1Event, now: number): Signal | { skip: 'not-a-spot-signal' | 'not-about-a-pod' | 'not-a-stock-out' } {
  const reason = event.reason ?? '';
  const kind = SIGNAL_REASONS[reason];
  if (!kind) return { skip: 'not-a-spot-signal' };
  if (event.involvedObject?.kind !== 'Pod' || !event.involvedObject.name) return { skip: 'not-about-a-pod' };
  const message = event.message ?? '';
  if (reason === 'ProviderCreateFailed' && !STOCK_OUT_TEXT.test(message)) return { skip: 'not-a-stock-out' };
  const when = event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp;
  const minutes = RELEASE_MINUTES.exec(message);
  return {
    kind,
    reason,
    message,
    namespace: event.involvedObject.namespace ?? event.metadata?.namespace ?? 'default',
    pod: event.involvedObject.name,
    ...(event.involvedObject.uid ? { podUid: event.involvedObject.uid } : {}),
    // Event time, so a redelivery names the same moment; never later than now (a clock ahead of ours).
    at: when && Number.isFinite(new Date(when).getTime()) ? Math.min(new Date(when).getTime(), now) : now,
    ...(minutes ? { releaseInMinutes: Number(minutes[1]) } : {}),
  };
}

/** A pod that ended `Failed` / `BidFailed`: its spot instance was released. */
export function signalFromPod(pod: PodLike, now: number): Signal | undefined {
  if (pod.status?.phase !== 'Failed' || pod.status.reason !== BID_FAILED) return undefined;
  return {
    kind: 'reclaim',
    reason: BID_FAILED,
    message: 'the spot instance was released',
    namespace: pod.metadata?.namespace ?? 'default',
    pod: pod.metadata?.name ?? '',
    ...(pod.metadata?.uid ? { podUid: pod.metadata.uid } : {}),
    at: endedAt(pod) ?? now,
  };
}

/** When the pod's containers ended, as its status says: a redelivered pod change then names the same moment. */
function endedAt(pod: PodLike): number | undefined {
  const times = (pod.status?.containerStatuses ?? [])
    .map((c) => c.state?.terminated?.finishedAt)
    .filter((t): t is Date | string => t !== undefined)
    .map((t) => new Date(t).getTime())
    .filter(Number.isFinite);
  return times.length > 0 ? Math.max(...times) : undefined;
}

/**
 * The breaker locations and specs a signal is about. ECI's messages may name a zone, a vSwitch or a
 * spec (`Spot [ecs.c6.xlarge] will be degraded…`); what they name narrows the pod's candidates,
 * else a placed pod's zone (and spec) does, else every candidate counts (NoStock means ECI tried them all).
 */
export function signalScope(signal: Signal, placement: Placement, zoneOf: (vswitch: string) => string): { locations: string[]; specs: string[] } {
  const all = locationsOf(placement);
  const named = new Set<string>([...(signal.message.match(ZONE) ?? []), ...(signal.message.match(VSWITCH) ?? []).map(zoneOf)]);
  if (placement.zone) named.add(placement.zone);
  const narrowed = all.filter((l) => named.has(l));
  const namedSpecs = new Set(signal.message.match(SPEC) ?? []);
  if (placement.instanceSpec) namedSpecs.add(placement.instanceSpec);
  const specs = placement.specs.filter((s) => namedSpecs.has(s));
  return { locations: narrowed.length > 0 ? narrowed : all, specs: specs.length > 0 ? specs : placement.specs };
}
