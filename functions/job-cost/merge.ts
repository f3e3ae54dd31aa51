import { eventLogKeysLookedFor } from './event-log-files.js';
import type { EventLogRead } from './event-log-reader.js';
import type { LogAnomaly } from './event-log-summary.js';
import type { LedgerPod } from './ledger.js';
import type { PodUsage } from './pricing.js';
import { mergeAttempts } from './merge-attempts.js';
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
  /** The app attempt it belongs to, when the event log is named by attempt. */
  attempt?: string;
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
  /** Drivers of the attempts before the last one (YARN AM retries): each ran and is billed. `driver` is the last attempt's. */
  earlierDrivers?: PodSpan[];
  /** Attempts costed, oldest first, when the event log is named by attempt. */
  attempts?: string[];
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

/** The executor id local mode gives its one in-process executor (SparkContext.DRIVER_IDENTIFIER). */
export const LOCAL_DRIVER_EXECUTOR_ID = 'driver';

/**
 * How far a ledger lifetime may reach outside the event log's window [ApplicationStart,
 * ApplicationEnd] and still be billed as the ledger says: a driver pod starts before its
 * SparkContext (image pull, JVM start; minutes on a cold ECI instance) and pods end a little
 * after the app. Beyond it the ledger fact is from another run or wrong.
 */
export const LEDGER_WINDOW_SLACK_MS = 10 * 60 * 1000;

/** What {@link mergeApp} takes. */
export interface MergeOptions {
  appId: string;
  namespace: string;
  log?: EventLogRead;
  pods: readonly LedgerPod[];
  signalEnd?: number;
  teamLabels: readonly string[];
  /** SPARKFN_COST_EVENT_LOG_PREFIX, so that an app with no source can say where its log was looked for. */
  eventLogPrefix?: string;
}

/**
 * Merges an app's event log and ledger by executor id (`spark-exec-id` ↔ `Executor ID`):
 * lifetimes from the ledger where it has them, resources and ids from the log. Either source
 * alone still gives an app; with neither, the app says so in `errors`. A ledger lifetime that
 * reaches past the log's window by more than {@link LEDGER_WINDOW_SLACK_MS} is clipped to it
 * (or replaced by the log's times when it misses the window) and flagged `ledger-outside-event-log`.
 * An event log of several attempts is costed attempt by attempt and the attempts added up.
 * `signalEnd` is the end time the trigger gave, used only when neither source dates the end.
 */
export function mergeApp(options: MergeOptions): MergedApp {
  const attempts = options.log?.attempts;
  if (attempts && attempts.length > 0) return mergeAttempts(options, attempts, mergeOneLog);
  return mergeOneLog(options);
}

/** {@link mergeApp} for one attempt's log (or none). */
function mergeOneLog(options: MergeOptions): MergedApp {
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
  // Local mode's in-process executor is the driver itself: its cores go to the driver, not to a second pod.
  const localDriver = executorPods.has(LOCAL_DRIVER_EXECUTOR_ID) ? undefined : summary?.executors.get(LOCAL_DRIVER_EXECUTOR_ID);
  const loggedIds = [...(summary?.executors.keys() ?? [])].filter((id) => !localDriver || id !== LOCAL_DRIVER_EXECUTOR_ID);
  // Ledger lifetimes are billed as they are up to LEDGER_WINDOW_SLACK_MS outside the log's window.
  const window = summary?.start !== undefined ? { start: summary.start, end: summary.end ?? Infinity } : undefined;
  const ids = [...new Set([...loggedIds, ...executorPods.keys()])].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));

  const executors: PodSpan[] = [];
  for (const id of ids) {
    const logged = summary?.executors.get(id);
    const pod = executorPods.get(id);
    const flags: string[] = [];
    const fitted = fitToWindow(pod?.start, pod?.end, window, flags);
    const podStart = fitted.start;
    const podEnd = fitted.end;
    const s = podStart ?? logged?.added;
    let e = podEnd ?? logged?.removed ?? (logged ? logEnd : end);
    if (fitted.missed && !logged) {
      anomalies.add(LEDGER_OUTSIDE);
      errors.push(`Executor pod ${pod?.podName ?? id} ran outside the event log's window and the log does not know executor ${id}; left out.`);
      continue;
    }
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
  const driverFlags: string[] = [];
  const driverFitted = fitToWindow(driverPod?.start, driverPod?.end, window, driverFlags);
  const driverStart = driverFitted.start ?? summary?.start;
  const driverEnd = driverFitted.end ?? (driverFitted.missed ? logEnd : end);
  if (driverStart !== undefined && driverEnd !== undefined && (summary || driverPod)) {
    let requested = summary
      ? driverResources(props)
      : { vcpu: driverPod?.requests?.vcpu ?? 0, gib: driverPod?.requests?.gib ?? 0 };
    if (localDriver) {
      driverFlags.push('local-mode');
      if (localDriver.totalCores !== undefined) requested = { ...requested, vcpu: Math.max(requested.vcpu, localDriver.totalCores) };
    }
    driver = span('driver', driverStart, driverEnd, { ...(driverPod ? { podName: driverPod.podName } : {}), requested, ...billing(driverPod), lifetimeFrom: driverFitted.start !== undefined ? 'ledger' : 'event-log' }, driverFlags);
  }
  for (const x of [...executors, ...(driver ? [driver] : [])]) for (const f of x.flags) if (f === 'negative-duration' || f === LEDGER_OUTSIDE) anomalies.add(f);

  const source: Source = log && pods.length > 0 ? 'event-log+ledger' : log ? 'event-log' : pods.length > 0 ? 'ledger' : 'none';
  if (source === 'none') {
    const where = options.eventLogPrefix !== undefined ? ` (looked for ${eventLogKeysLookedFor(options.eventLogPrefix, appId)})` : '';
    errors.push(`Neither an event log${where} nor ledger entries were found for app ${appId} in namespace ${namespace}: nothing to cost.`);
  }
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

/** Anomaly and pod flag: a ledger lifetime reached past the event log's window and was fitted to it. */
export const LEDGER_OUTSIDE = 'ledger-outside-event-log';

/**
 * A ledger lifetime fitted to the event log's window: kept while within the slack; clipped to
 * the window when it reaches further; dropped (`missed`, so that the log's own times stand) when
 * it misses the window altogether, as a pod of another run does. Flags what it changed.
 */
function fitToWindow(
  start: number | undefined,
  end: number | undefined,
  window: { start: number; end: number } | undefined,
  flags: string[],
): { start?: number; end?: number; missed: boolean } {
  const given = { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), missed: false };
  if (!window) return given;
  const early = start !== undefined && start < window.start - LEDGER_WINDOW_SLACK_MS;
  const late = end !== undefined && end > window.end + LEDGER_WINDOW_SLACK_MS;
  const missed = (start !== undefined && start > window.end + LEDGER_WINDOW_SLACK_MS) || (end !== undefined && end < window.start - LEDGER_WINDOW_SLACK_MS);
  if (!early && !late && !missed) return given;
  flags.push(LEDGER_OUTSIDE);
  if (missed) return { missed: true };
  return { ...(start !== undefined ? { start: early ? window.start : start } : {}), ...(end !== undefined ? { end: late ? window.end : end } : {}), missed: false };
}
