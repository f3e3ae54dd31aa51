import { parseMilli } from '../quota-retry/quantity.js';
import { podEndTime, KEEP_ANNOTATION, TTL_ANNOTATION } from '../janitor/app-state.js';
import type { KubeItem } from '../janitor/inventory.js';
import { APP_LABEL, ROLE_LABEL } from '../janitor/kinds.js';
import { ECI, SPARKFN } from '../spot-fallback/placement.js';

/** What an executor runs on, as `sparkfn_monitor_executors{capacity}` says it. */
export type Capacity = 'spot' | 'on-demand' | 'spot-fallback';

/** The label Spark puts the app's name in (`spark.app.name`, made label-safe). */
export const APP_NAME_LABEL = 'spark-app-name';
/** Zone and instance type a pod carries when ECI (annotations) or the scheduler's node (well-known labels copied by admission) say so. */
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';
/** What a label value is when the pod says nothing about it: bounded, and visible in dashboards. */
export const UNKNOWN = 'unknown';
const SPOT_STRATEGIES = new Set(['SpotAsPriceGo', 'SpotWithPriceLimit']);

/**
 * One Spark pod, compact: only what the monitor reads. 20,000 of these must fit in a few MB,
 * so no object is kept whole and repeated strings are interned (see Interner).
 */
export interface PodRecord {
  namespace: string;
  name: string;
  appId: string;
  appName: string;
  role: 'driver' | 'executor';
  phase: string;
  createdMs: number;
  /** status.startTime: when the kubelet (or ECI) accepted it. */
  startMs: number | undefined;
  /** When it ended (terminated containers, else its last condition change), for terminal pods. */
  endMs: number | undefined;
  cpuCores: number;
  memoryBytes: number;
  zone: string;
  instanceType: string;
  capacity: Capacity;
  /** Driver annotations janitor reads (`sparkfn.io/keep`, `sparkfn.io/ttl`), undefined when absent. */
  keep: string | undefined;
  ttl: string | undefined;
}

/** Any object of an app that is not a pod: what janitor cleans besides pods. */
export interface OtherRecord {
  kind: 'configmaps' | 'services' | 'ingresses';
  namespace: string;
  appId: string;
  createdMs: number;
}

/** One SparkApplication (sparkoperator.k8s.io/v1beta2). */
export interface SparkAppRecord {
  namespace: string;
  name: string;
  /** status.sparkApplicationId; empty until spark-operator submitted it. */
  appId: string;
  /** status.applicationState.state (`SUBMITTED`, `RUNNING`, `COMPLETED`, …), empty when none. */
  state: string;
  createdMs: number;
  terminationMs: number | undefined;
  keep: string | undefined;
  ttl: string | undefined;
}

/** One ResourceQuota: hard and used per resource, in base units (cores, bytes, counts). */
export interface QuotaRecord {
  namespace: string;
  name: string;
  hard: [resource: string, value: number][];
  used: [resource: string, value: number][];
}

/** Shares one copy of each repeated string (namespaces, app ids, phases, zones) between records. */
export class Interner {
  private readonly strings = new Map<string, string>();

  get(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }

  /** Forgets everything (after a full rebuild), so strings of vanished apps do not stay forever. */
  clear(): void {
    this.strings.clear();
  }
}

interface RawMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  creationTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
/** An object as a watch or list hands it over. */
export interface RawObject {
  kind?: string;
  metadata?: RawMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

function ms(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** A quantity as a number in base units; a malformed one counts as 0 (a pod's requests were validated by the apiserver). */
export function quantity(text: unknown): number {
  try {
    return Number(parseMilli(text)) / 1000;
  } catch {
    return 0;
  }
}

type Resources = { requests?: Record<string, unknown> } | undefined;
type Container = { resources?: Resources };

/**
 * The pod's effective requests as the scheduler counts them: the sum over containers, or the
 * largest init container when that is more, plus `spec.overhead`.
 */
function podRequests(spec: Record<string, unknown> | undefined): { cpu: number; memory: number } {
  const containers = (spec?.containers as Container[] | undefined) ?? [];
  const inits = (spec?.initContainers as Container[] | undefined) ?? [];
  const sum = (key: string) => containers.reduce((total, c) => total + quantity(c.resources?.requests?.[key] ?? '0'), 0);
  const maxInit = (key: string) => inits.reduce((most, c) => Math.max(most, quantity(c.resources?.requests?.[key] ?? '0')), 0);
  const overhead = (spec?.overhead as Record<string, unknown> | undefined) ?? {};
  return {
    cpu: Math.max(sum('cpu'), maxInit('cpu')) + quantity(overhead.cpu ?? '0'),
    memory: Math.max(sum('memory'), maxInit('memory')) + quantity(overhead.memory ?? '0'),
  };
}

/** spot-fallback's label says fallback; else ECI's spot strategy says spot; else on-demand. */
function capacityOf(labels: Record<string, string>, annotations: Record<string, string>): Capacity {
  if (labels[SPARKFN.capacityLabel] === 'on-demand-fallback') return 'spot-fallback';
  if (SPOT_STRATEGIES.has(annotations[ECI.spotStrategy] ?? '')) return 'spot';
  return 'on-demand';
}

/** The compact record of a Spark pod, or undefined for a pod without `spark-role` driver/executor and `spark-app-selector`. */
export function podRecord(object: RawObject, intern: Interner): PodRecord | undefined {
  const meta = object.metadata ?? {};
  const labels = meta.labels ?? {};
  const annotations = meta.annotations ?? {};
  const role = labels[ROLE_LABEL];
  const appId = labels[APP_LABEL];
  if ((role !== 'driver' && role !== 'executor') || !appId || !meta.namespace || !meta.name) return undefined;
  const status = (object.status ?? {}) as { phase?: string; startTime?: string };
  const phase = status.phase ?? 'Unknown';
  const requests = podRequests(object.spec);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  return {
    namespace: intern.get(meta.namespace),
    name: meta.name,
    appId: intern.get(appId),
    appName: intern.get(labels[APP_NAME_LABEL] ?? ''),
    role,
    phase: intern.get(phase),
    createdMs: ms(meta.creationTimestamp) ?? 0,
    startMs: ms(status.startTime),
    endMs: terminal ? podEndTime(object as KubeItem) : undefined,
    cpuCores: requests.cpu,
    memoryBytes: requests.memory,
    zone: intern.get(annotations[ECI.instanceZone] ?? labels[ZONE_LABEL] ?? UNKNOWN),
    instanceType: intern.get(annotations[ECI.instanceSpec] ?? labels[INSTANCE_TYPE_LABEL] ?? UNKNOWN),
    capacity: capacityOf(labels, annotations),
    keep: role === 'driver' ? annotations[KEEP_ANNOTATION] : undefined,
    ttl: role === 'driver' ? annotations[TTL_ANNOTATION] : undefined,
  };
}

const OTHER_KINDS: Readonly<Record<string, OtherRecord['kind']>> = { ConfigMap: 'configmaps', Service: 'services', Ingress: 'ingresses' };

/** The record of a labelled ConfigMap, Service or Ingress, or undefined for any other object. */
export function otherRecord(object: RawObject, intern: Interner): OtherRecord | undefined {
  const kind = OTHER_KINDS[object.kind ?? ''];
  const meta = object.metadata ?? {};
  const appId = meta.labels?.[APP_LABEL];
  if (!kind || !appId || !meta.namespace) return undefined;
  return { kind, namespace: intern.get(meta.namespace), appId: intern.get(appId), createdMs: ms(meta.creationTimestamp) ?? 0 };
}

/** The record of a SparkApplication. */
export function sparkAppRecord(object: RawObject, intern: Interner): SparkAppRecord | undefined {
  const meta = object.metadata ?? {};
  if (!meta.namespace || !meta.name) return undefined;
  const status = (object.status ?? {}) as { sparkApplicationId?: string; applicationState?: { state?: string }; terminationTime?: string };
  const annotations = meta.annotations ?? {};
  return {
    namespace: intern.get(meta.namespace),
    name: meta.name,
    appId: intern.get(typeof status.sparkApplicationId === 'string' ? status.sparkApplicationId : ''),
    state: intern.get(status.applicationState?.state ?? ''),
    createdMs: ms(meta.creationTimestamp) ?? 0,
    terminationMs: ms(status.terminationTime),
    keep: annotations[KEEP_ANNOTATION],
    ttl: annotations[TTL_ANNOTATION],
  };
}

/** The record of a ResourceQuota. */
export function quotaRecord(object: RawObject, intern: Interner): QuotaRecord | undefined {
  const meta = object.metadata ?? {};
  if (!meta.namespace || !meta.name) return undefined;
  const pairs = (map: unknown): [string, number][] =>
    Object.entries((map ?? {}) as Record<string, unknown>).map(([resource, value]) => [intern.get(resource), quantity(value)] as [string, number]);
  return { namespace: intern.get(meta.namespace), name: meta.name, hard: pairs(object.spec?.hard), used: pairs(object.status?.used) };
}
