import type { SpotSettings } from './settings.js';

/** ECI pod annotations (https://www.alibabacloud.com/help/en/eci/user-guide/pod-annotations). */
export const ECI = {
  spotStrategy: 'k8s.aliyun.com/eci-spot-strategy',
  spotPriceLimit: 'k8s.aliyun.com/eci-spot-price-limit',
  spotFallback: 'k8s.aliyun.com/eci-spot-fallback',
  vswitch: 'k8s.aliyun.com/eci-vswitch',
  scheduleStrategy: 'k8s.aliyun.com/eci-schedule-strategy',
  useSpecs: 'k8s.aliyun.com/eci-use-specs',
  instanceSpec: 'k8s.aliyun.com/eci-instance-spec',
  instanceZone: 'k8s.aliyun.com/eci-instance-zone',
} as const;

/** What spot-fallback writes on pods, for job-cost and for people. */
export const SPARKFN = {
  capacityLabel: 'sparkfn.io/capacity',
  reasonAnnotation: 'sparkfn.io/spot-fallback-reason',
  /** On a probe pod: the breakers (`<location>/<spec>`, comma-separated) its success closes. */
  probeAnnotation: 'sparkfn.io/spot-probe',
} as const;

/** Spark's labels on the pods it creates. */
export const SPARK = { role: 'spark-role', appId: 'spark-app-selector' } as const;

/** The breaker location of a pod that names no vSwitch: ECI then uses the cluster's default vSwitches. */
export const DEFAULT_LOCATION = 'default';
/** The breaker spec of a pod that names no instance spec (ECI sizes it from its requests). */
export const ANY_SPEC = 'any';

const SPOT_STRATEGIES = new Set(['SpotAsPriceGo', 'SpotWithPriceLimit']);

/** The part of a pod placement reads. */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: Date | string };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: { type?: string; status?: string }[];
    containerStatuses?: { state?: { terminated?: { finishedAt?: Date | string } } }[];
  };
}

/** One place ECI may create the pod: a vSwitch (when named) and the breaker location it counts under. */
export interface Candidate {
  vswitch?: string;
  location: string;
}

/** Where and how a pod may run, as far as breakers are concerned. */
export interface Placement {
  role?: string;
  appId?: string;
  spot: boolean;
  candidates: Candidate[];
  specs: string[];
  /** The zone ECI placed it in (running pods only). */
  zone?: string;
  /** The spec ECI created it with (running pods only). */
  instanceSpec?: string;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The breaker location of a vSwitch: its zone when configured, else the vSwitch itself. */
export function locationOf(vswitch: string, settings: Pick<SpotSettings, 'vswitchZones'>): string {
  return settings.vswitchZones[vswitch] ?? vswitch;
}

/**
 * Reads a pod's spot strategy, vSwitches (`eci-vswitch`), specs (`eci-use-specs`, else
 * `eci-instance-spec`) and, once placed, its zone (`eci-instance-zone`).
 */
export function placementOf(pod: PodLike, settings: Pick<SpotSettings, 'vswitchZones'>): Placement {
  const annotations = pod.metadata?.annotations ?? {};
  const labels = pod.metadata?.labels ?? {};
  const vswitches = list(annotations[ECI.vswitch]);
  const zone = annotations[ECI.instanceZone];
  const candidates: Candidate[] =
    vswitches.length > 0 ? vswitches.map((vswitch) => ({ vswitch, location: locationOf(vswitch, settings) })) : [{ location: DEFAULT_LOCATION }];
  const useSpecs = list(annotations[ECI.useSpecs]);
  const specs = useSpecs.length > 0 ? useSpecs : annotations[ECI.instanceSpec] ? [annotations[ECI.instanceSpec]!] : [ANY_SPEC];
  return {
    ...(labels[SPARK.role] ? { role: labels[SPARK.role] } : {}),
    ...(labels[SPARK.appId] ? { appId: labels[SPARK.appId] } : {}),
    spot: SPOT_STRATEGIES.has(annotations[ECI.spotStrategy] ?? ''),
    candidates,
    specs: [...new Set(specs)],
    ...(zone ? { zone } : {}),
    ...(annotations[ECI.instanceSpec] ? { instanceSpec: annotations[ECI.instanceSpec] } : {}),
  };
}

/** The distinct breaker locations of a placement, in the pod's order. */
export function locationsOf(placement: Placement): string[] {
  return [...new Set(placement.candidates.map((c) => c.location))];
}
