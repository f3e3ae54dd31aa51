import { PreconditionFailedError } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer } from '../../shared/store/read.js';
import type { SignalKind } from './eci-signals.js';
import type { CapacityType } from './spot-breaker.js';

/**
 * spot-fallback's state, one object per fact (README, "State under concurrency"). Every key is
 * derived from the fact itself, so a redelivered event overwrites its own object and two
 * invocations never write the same object with different content:
 * ```
 * state/spot-fallback/signals/<pod>/<reason>-<atMs>.json                  a stock-out or reclaim signal and the breakers it counts for
 * state/spot-fallback/probe-runs/<pod>.json                               a probe pod ran on spot: the breakers it closes
 * state/spot-fallback/probe-claims/<location>/<spec>/<period>/<slot>.json the half-open breaker's probe slot (create-only: one holder)
 * state/spot-fallback/probe-claims/<location>/<spec>/<period>/<slot>.released.json  its holder never became a pod
 * state/spot-fallback/apps/<namespace>/<appId>/reclaims/<zone>/<pod>      one reclaimed pod of the app (counted by listing)
 * state/spot-fallback/apps/<namespace>/<appId>/recycles/<atMs>-<pod>      one pod recycled (the apiserver's uid precondition makes it once)
 * ```
 * `<pod>` is the pod's uid, or `<namespace>~<name>` when an event carries none.
 */
export const FACTS_PREFIX = 'state/spot-fallback/';
export const SIGNALS_PREFIX = `${FACTS_PREFIX}signals/`;
export const PROBE_RUNS_PREFIX = `${FACTS_PREFIX}probe-runs/`;
export const PROBE_CLAIMS_PREFIX = `${FACTS_PREFIX}probe-claims/`;
export const APPS_PREFIX = `${FACTS_PREFIX}apps/`;
/** Milliseconds in keys are zero-padded to this width, so keys sort by time. */
const TIME_DIGITS = 13;

const JSON_PUT = { contentType: 'application/json' } as const;

/** A stock-out or reclaim signal about one pod, and every breaker (`<location>/<spec>`) it counts for. */
export interface SignalFact {
  kind: SignalKind;
  reason: string;
  /** The pod's uid, or `<namespace>~<name>`. */
  pod: string;
  at: number;
  capacity: CapacityType;
  breakers: string[];
}

/** A probe pod ran on spot at `at`: the breakers it probed close. */
export interface ProbeRunFact {
  pod: string;
  at: number;
  breakers: string[];
}

/** The holder of a half-open breaker's probe slot: the pod the webhook let through. */
export interface ProbeClaimFact {
  namespace: string;
  name: string;
  at: number;
  /** The AdmissionReview's uid, for the log. */
  review: string;
}

/** A probe claim's holder never became a pod: the slot is free again (issue: a made-up review must not hold it). */
export interface ProbeReleaseFact {
  at: number;
  why: string;
}

/** How a pod is named in keys: its uid, else `<namespace>~<name>` (`~` is not allowed in Kubernetes names). */
export function podKey(namespace: string, name: string, uid: string | undefined): string {
  return assertKeySegment(uid || `${namespace}~${name}`, 'pod');
}

const ms = (at: number): string => String(Math.max(0, Math.floor(at))).padStart(TIME_DIGITS, '0');

export function signalKey(fact: Pick<SignalFact, 'pod' | 'reason' | 'at'>): string {
  return `${SIGNALS_PREFIX}${assertKeySegment(fact.pod, 'pod')}/${assertKeySegment(fact.reason, 'reason')}-${ms(fact.at)}.json`;
}

export function probeRunKey(pod: string): string {
  return `${PROBE_RUNS_PREFIX}${assertKeySegment(pod, 'pod')}.json`;
}

/** The folder of one breaker's claims in one open period (the period is the open's `openUntil`). */
export function probeClaimFolder(location: string, spec: string, period: number): string {
  return `${PROBE_CLAIMS_PREFIX}${assertKeySegment(location, 'zone or vSwitch')}/${assertKeySegment(spec, 'instance spec')}/${ms(period)}/`;
}

export function probeClaimKey(location: string, spec: string, period: number, slot: number): string {
  return `${probeClaimFolder(location, spec, period)}${slot}.json`;
}

export function probeReleaseKey(location: string, spec: string, period: number, slot: number): string {
  return `${probeClaimFolder(location, spec, period)}${slot}.released.json`;
}

export function appFolder(namespace: string, appId: string): string {
  return `${APPS_PREFIX}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(appId, 'app id')}/`;
}

export function reclaimKey(namespace: string, appId: string, zone: string, pod: string): string {
  return `${appFolder(namespace, appId)}reclaims/${assertKeySegment(zone, 'zone')}/${assertKeySegment(pod, 'pod')}`;
}

export function recycleKey(namespace: string, appId: string, pod: string, at: number): string {
  return `${appFolder(namespace, appId)}recycles/${ms(at)}-${assertKeySegment(pod, 'pod')}`;
}

/** Parses `<atMs>-<pod>`, the last segment of a recycle key. */
export function parseRecycleName(name: string): { at: number; pod: string } | undefined {
  const match = /^(\d{13})-(.+)$/.exec(name);
  return match ? { at: Number(match[1]), pod: match[2]! } : undefined;
}

export async function putSignal(store: ObjectStore, fact: SignalFact): Promise<string> {
  const key = signalKey(fact);
  await store.put(key, JSON.stringify(fact), JSON_PUT);
  return key;
}

export async function putProbeRun(store: ObjectStore, fact: ProbeRunFact): Promise<string> {
  const key = probeRunKey(fact.pod);
  await store.put(key, JSON.stringify(fact), JSON_PUT);
  return key;
}

export async function putReclaim(store: ObjectStore, namespace: string, appId: string, zone: string, pod: string): Promise<string> {
  const key = reclaimKey(namespace, appId, zone, pod);
  await store.put(key, '', {});
  return key;
}

export async function putRecycle(store: ObjectStore, namespace: string, appId: string, pod: string, at: number): Promise<string> {
  const key = recycleKey(namespace, appId, pod, at);
  await store.put(key, '', {});
  return key;
}

export async function putProbeRelease(store: ObjectStore, key: string, fact: ProbeReleaseFact): Promise<void> {
  await store.put(key, JSON.stringify(fact), JSON_PUT);
}

/**
 * Claims a probe slot with a create-only write. True when this pod holds it: the write created
 * it, or the slot was already held by this same pod (the apiserver retried the review). Only as
 * exclusive as the store enforces create-only writes (`sparkfn doctor` says).
 */
export async function claimProbeSlot(store: ObjectStore, key: string, fact: ProbeClaimFact): Promise<{ won: boolean; holder: ProbeClaimFact }> {
  try {
    await store.put(key, JSON.stringify(fact), { ...JSON_PUT, ifNoneMatch: '*' });
    return { won: true, holder: fact };
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
  }
  const holder = JSON.parse((await getBuffer(store, key)).toString('utf8')) as ProbeClaimFact;
  return { won: holder.namespace === fact.namespace && holder.name === fact.name, holder };
}

