import type { EventLogRead } from './event-log-reader.js';
import type { LogAnomaly } from './event-log-summary.js';
import type { LedgerPod } from './ledger.js';
import type { PodUsage } from './pricing.js';
import { SPOT_STRATEGIES } from './pod-facts.js';
import { driverResources, executorResources, type PodResources } from './spark-resources.js';

/** Which source a figure came from. */
export type Source = 'event-log+ledger' | 'event-log' | 'ledger' | 'none';

/** One pod's lifetime and resources after merging both sources: how it was billed, and when. */
export interface PodSpan extends PodUsage {
  role: 'driver' | 'executor';
  executorId?: string;
  podName?: string;
  start: number;
  end: number;
  reclaimed: boolean;
  /** Where its lifetime came from: the ledger sees billing end, so it wins when present. */
  lifetimeFrom: 'ledger' | 'event-log';
  flags: string[];
}

/** An application after merging its event log and ledger. */
export interface MergedApp {
  appId: string;
  appName?: string;
  namespace: string;
  labels: Record<string, string>;
  start?: number;
  end?: number;
  incomplete: boolean;
  source: Source;
  driver?: PodSpan;
  executors: PodSpan[];
  anomalies: string[];
  errors: string[];
}

function span(role: PodSpan['role'], start: number, end: number, rest: Omit<PodSpan, 'role' | 'start' | 'end' | 'seconds' | 'flags'>, flags: string[]): PodSpan {
  const clamped = end < start;
  return { role, start, end: clamped ? start : end, seconds: clamped ? 0 : (end - start) / 1000, ...rest, flags: clamped ? [...flags, 'negative-duration'] : flags };
}

function billing(pod: LedgerPod | undefined) {
  return {
    ...(pod?.instanceSpec ? { billedSpec: pod.instanceSpec } : {}),
    spot: pod?.spotStrategy !== undefined && SPOT_STRATEGIES.has(pod.spotStrategy),
    ...(pod?.spotPriceLimitPerHour !== undefined ? { spotPriceLimitPerHour: pod.spotPriceLimitPerHour } : {}),
    degraded: pod?.degradedAt !== undefined,
    reclaimed: pod?.reclaimedAt !== undefined,
  };
}

/**
 * Merges an app's event log and ledger by executor id (`spark-exec-id` ↔ `Executor ID`):
 * lifetimes from the ledger where it has them, resources and ids from the log. Either source
 * alone still gives an app; with neither, the app says so in `errors`.
 * `signalEnd` is the end time the trigger gave, used only when neither source dates the end.
 */
export function mergeApp(options: {
  appId: string;
  namespace: string;
  log?: EventLogRead;
  pods: readonly LedgerPod[];
  signalEnd?: number;
  teamLabels: readonly string[];
}): MergedApp {
  const { appId, namespace, log, pods, signalEnd, teamLabels } = options;
  const summary = log?.summary;
  const props = summary?.sparkProperties ?? {};
  const driverPod = pods.find((p) => p.role === 'driver');
  const anomalies = new Set<string>(summary ? [...summary.anomalies] : []);
  const errors = [...(log?.errors ?? [])];

  const ledgerEnds = pods.map((p) => p.end).filter((t): t is number => t !== undefined);
  const end = summary?.end ?? driverPod?.end ?? signalEnd ?? summary?.lastTimestamp ?? (ledgerEnds.length ? Math.max(...ledgerEnds) : undefined);
  const ledgerStarts = pods.map((p) => p.start).filter((t): t is number => t !== undefined);
  const start = summary?.start ?? driverPod?.start ?? (ledgerStarts.length ? Math.min(...ledgerStarts) : undefined);
  // Where a logged executor still running ends: ApplicationEnd, else the last event (incomplete log).
  const logEnd = summary?.end ?? summary?.lastTimestamp ?? end;

  const executorPods = new Map<string, LedgerPod>();
  for (const pod of pods) if (pod.role === 'executor' && pod.executorId) executorPods.set(pod.executorId, pod);
  const ids = [...new Set([...(summary?.executors.keys() ?? []), ...executorPods.keys()])].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));

  const executors: PodSpan[] = [];
  for (const id of ids) {
    const logged = summary?.executors.get(id);
    const pod = executorPods.get(id);
    const flags: string[] = [];
    const podStart = pod?.start;
    const podEnd = pod?.end;
    const s = podStart ?? logged?.added;
    let e = podEnd ?? logged?.removed ?? (logged ? logEnd : end);
    if (s === undefined) {
      errors.push(`Executor ${id} has no start time in either source; left out.`);
      continue;
    }
    if (e === undefined) {
      flags.push('no-end');
      e = s;
    }
    let requested: PodResources;
    if (logged) requested = executorResources(props, summary?.profiles.get(logged.resourceProfileId), logged.totalCores);
    else if (pod?.requests?.vcpu !== undefined && pod.requests.gib !== undefined) requested = { vcpu: pod.requests.vcpu, gib: pod.requests.gib };
    else {
      requested = { vcpu: pod?.requests?.vcpu ?? 0, gib: pod?.requests?.gib ?? 0 };
      flags.push('no-requests');
    }
    executors.push(
      span('executor', s, e, { executorId: id, ...(pod ? { podName: pod.podName } : {}), requested, ...billing(pod), lifetimeFrom: podStart !== undefined || podEnd !== undefined ? 'ledger' : 'event-log' }, flags),
    );
  }
  for (const pod of pods) if (pod.role === 'executor' && !pod.executorId) errors.push(`Executor pod ${pod.podName} has no spark-exec-id label; left out.`);

  let driver: PodSpan | undefined;
  const driverStart = driverPod?.start ?? summary?.start;
  const driverEnd = driverPod?.end ?? end;
  if (driverStart !== undefined && driverEnd !== undefined && (summary || driverPod)) {
    const requested = summary
      ? driverResources(props)
      : { vcpu: driverPod?.requests?.vcpu ?? 0, gib: driverPod?.requests?.gib ?? 0 };
    driver = span('driver', driverStart, driverEnd, { ...(driverPod ? { podName: driverPod.podName } : {}), requested, ...billing(driverPod), lifetimeFrom: driverPod?.start !== undefined ? 'ledger' : 'event-log' }, []);
  }
  for (const x of [...executors, ...(driver ? [driver] : [])]) for (const f of x.flags) if (f === 'negative-duration') anomalies.add(f);

  const source: Source = log && pods.length > 0 ? 'event-log+ledger' : log ? 'event-log' : pods.length > 0 ? 'ledger' : 'none';
  if (source === 'none') errors.push(`Neither an event log nor ledger entries were found for app ${appId} in namespace ${namespace}.`);
  const incomplete =
    source === 'none' ||
    (log !== undefined && (summary?.end === undefined || errors.length > 0 || log.inProgress)) ||
    (log === undefined && pods.some((p) => p.end === undefined));

  const labelSource = { ...(driverPod?.labels ?? {}) };
  const labels: Record<string, string> = {};
  for (const key of teamLabels) if (labelSource[key] !== undefined) labels[key] = labelSource[key]!;
  const appName = summary?.appName ?? driverPod?.appName;
  return {
    appId,
    ...(appName ? { appName } : {}),
    namespace,
    labels,
    ...(start !== undefined ? { start } : {}),
    ...(end !== undefined ? { end } : {}),
    incomplete,
    source,
    ...(driver ? { driver } : {}),
    executors,
    anomalies: [...anomalies].sort() as LogAnomaly[],
    errors,
  };
}
