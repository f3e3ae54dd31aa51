import { judgeApp } from '../janitor/app-state.js';
import type { AppObjects, KubeItem } from '../janitor/inventory.js';
import type { CleanKind } from '../janitor/kinds.js';
import type { SparkModel } from './model.js';
import type { Capacity, PodRecord, SparkAppRecord } from './records.js';
import type { MonitorSettings } from './settings.js';
import type { StoreSignals } from './store-signals.js';

/** `sparkfn_monitor_apps{state}`. */
export type AppState = 'submitted' | 'running' | 'succeeded' | 'failed' | 'unknown';
export const APP_STATES: readonly AppState[] = ['submitted', 'running', 'succeeded', 'failed', 'unknown'];
/** `sparkfn_monitor_leftovers{age}`: time since the app finished. */
export type AgeBucket = 'lt_1h' | '1h_to_6h' | '6h_to_24h' | 'gt_24h';
export const AGE_BUCKETS: readonly AgeBucket[] = ['lt_1h', '1h_to_6h', '6h_to_24h', 'gt_24h'];

const HOUR_MS = 3_600_000;

/** An app in a ranking or in the stuck list. */
export interface AppRef {
  namespace: string;
  appId: string;
  appName: string;
}
export interface TopApp extends AppRef {
  rank: number;
  value: number;
}
export interface StuckApp extends AppRef {
  reason: 'executors-pending' | 'executors-failing';
  /** Seconds since the app last had a running executor (or since its driver started). */
  stuckSeconds: number;
  pendingExecutors: number;
  failedExecutors: number;
}
export interface BlockedSubmission {
  namespace: string;
  submissionId: string;
  waitingSeconds: number;
}

/**
 * The monitor's view at one moment: what /metrics, the CLI (`-o json`), the demo and the alerts
 * show. Every list is sorted, so two views of the same state are equal.
 */
export interface MonitorView {
  /** ms since the epoch the view is for. */
  at: number;
  apps: { namespace: string; state: AppState; count: number }[];
  appsStartedToday: { namespace: string; count: number }[];
  requested: { namespace: string; cpuCores: number; memoryBytes: number }[];
  quotas: { namespace: string; quota: string; resource: string; hard: number | null; used: number | null }[];
  pods: { namespace: string; role: 'driver' | 'executor'; phase: string; count: number }[];
  executors: { zone: string; instanceType: string; capacity: Capacity; count: number }[];
  topByMemoryTime: TopApp[];
  topByRuntime: TopApp[];
  leftovers: { kind: CleanKind; age: AgeBucket; count: number }[];
  leftoversFailing: { kind: CleanKind; count: number }[];
  stuck: StuckApp[];
  quotaWaiting: { namespace: string; waiting: number; blocked: number }[];
  blocked: BlockedSubmission[];
}

interface AppGroup {
  namespace: string;
  appId: string;
  drivers: PodRecord[];
  executors: PodRecord[];
  others: Record<'configmaps' | 'services' | 'ingresses', number[]>;
  sparkApps: SparkAppRecord[];
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** spark-operator's application states, as `sparkfn_monitor_apps` counts them. */
const OPERATOR_STATES: Readonly<Record<string, AppState>> = {
  '': 'submitted',
  NEW: 'submitted',
  SUBMITTED: 'submitted',
  PENDING_RERUN: 'submitted',
  RUNNING: 'running',
  SUCCEEDING: 'running',
  FAILING: 'running',
  INVALIDATING: 'running',
  COMPLETED: 'succeeded',
  FAILED: 'failed',
  SUBMISSION_FAILED: 'failed',
  UNKNOWN: 'unknown',
};
const POD_STATES: Readonly<Record<string, AppState>> = { Pending: 'submitted', Running: 'running', Succeeded: 'succeeded', Failed: 'failed' };

/** The app's state: its SparkApplication's when it has one, else its driver pod's phase. */
function appState(app: AppGroup): AppState {
  const sparkApp = app.sparkApps[0];
  if (sparkApp) return OPERATOR_STATES[sparkApp.state] ?? 'unknown';
  const driver = newest(app.drivers);
  return driver ? (POD_STATES[driver.phase] ?? 'unknown') : 'unknown';
}

function newest(pods: PodRecord[]): PodRecord | undefined {
  return pods.reduce<PodRecord | undefined>((best, p) => (!best || p.createdMs > best.createdMs ? p : best), undefined);
}

function group(model: SparkModel): AppGroup[] {
  // Nested maps (namespace, then app id): no key string per object, which a view of 20,000 pods would allocate.
  const apps = new Map<string, Map<string, AppGroup>>();
  const get = (namespace: string, appId: string): AppGroup => {
    let inNamespace = apps.get(namespace);
    if (!inNamespace) apps.set(namespace, (inNamespace = new Map()));
    let app = inNamespace.get(appId);
    if (!app) {
      app = { namespace, appId, drivers: [], executors: [], others: { configmaps: [], services: [], ingresses: [] }, sparkApps: [] };
      inNamespace.set(appId, app);
    }
    return app;
  };
  for (const pod of model.pods.values()) {
    const app = get(pod.namespace, pod.appId);
    (pod.role === 'driver' ? app.drivers : app.executors).push(pod);
  }
  for (const other of model.others.values()) get(other.namespace, other.appId).others[other.kind].push(other.createdMs);
  for (const sparkApp of model.sparkApps.values()) {
    // Not submitted yet: no app id, so it is an app of its own, keyed by its name.
    get(sparkApp.namespace, sparkApp.appId || `sparkapplication:${sparkApp.name}`).sparkApps.push(sparkApp);
  }
  const out: AppGroup[] = [];
  for (const inNamespace of apps.values()) for (const app of inNamespace.values()) out.push(app);
  return out;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * The few fields janitor's judgeApp reads to find a finished app, rebuilt from the compact
 * records. Executors, ConfigMaps, Services and Ingresses only matter to it for apps without a
 * driver or SparkApplication (orphans, which are not "finished"), so they are left out.
 */
function asAppObjects(app: AppGroup): AppObjects {
  const annotations = (keep: string | undefined, ttl: string | undefined) => ({
    ...(keep !== undefined ? { 'sparkfn.io/keep': keep } : {}),
    ...(ttl !== undefined ? { 'sparkfn.io/ttl': ttl } : {}),
  });
  return {
    namespace: app.namespace,
    appId: app.appId,
    drivers: app.drivers.map((d) => ({
      metadata: { name: d.name, namespace: d.namespace, creationTimestamp: iso(d.createdMs)!, annotations: annotations(d.keep, d.ttl) },
      status: { phase: d.phase, ...(d.endMs !== undefined ? { conditions: [{ lastTransitionTime: iso(d.endMs) }] } : {}) },
    })),
    executors: [],
    configmaps: [],
    services: [],
    ingresses: [],
    sparkApps: app.sparkApps.map((s) => ({
      metadata: { name: s.name, namespace: s.namespace, creationTimestamp: iso(s.createdMs)!, annotations: annotations(s.keep, s.ttl) },
      status: { applicationState: { state: s.state }, ...(s.terminationMs !== undefined ? { terminationTime: iso(s.terminationMs) } : {}) },
    })),
  };
}

function ageBucket(ageMs: number): AgeBucket {
  if (ageMs < HOUR_MS) return 'lt_1h';
  if (ageMs < 6 * HOUR_MS) return '1h_to_6h';
  if (ageMs < 24 * HOUR_MS) return '6h_to_24h';
  return 'gt_24h';
}

/** Counts by a composite key, kept in insertion order of first sight. */
class Tally<K extends string> {
  readonly counts = new Map<K, number>();
  add(key: K, by = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }
}

/** Pods by namespace, role and phase, in nested maps (one count per pod without a key string). */
class PodTally {
  private readonly counts = new Map<string, Map<string, Map<string, number>>>();
  add(pod: PodRecord): void {
    let byRole = this.counts.get(pod.namespace);
    if (!byRole) this.counts.set(pod.namespace, (byRole = new Map()));
    let byPhase = byRole.get(pod.role);
    if (!byPhase) byRole.set(pod.role, (byPhase = new Map()));
    byPhase.set(pod.phase, (byPhase.get(pod.phase) ?? 0) + 1);
  }
  rows(): MonitorView['pods'] {
    const out: MonitorView['pods'] = [];
    for (const [namespace, byRole] of this.counts) for (const [role, byPhase] of byRole) for (const [phase, count] of byPhase) out.push({ namespace, role: role as 'driver' | 'executor', phase, count });
    return out;
  }
}

const isLive = (pod: PodRecord) => pod.phase !== 'Succeeded' && pod.phase !== 'Failed';

/** Why the app is stuck, or undefined: driver Running, no executor Running for longer than the threshold, executors Pending or failing. */
function stuckOf(app: AppGroup, appName: string, now: number, settings: MonitorSettings): StuckApp | undefined {
  const driver = newest(app.drivers);
  if (!driver || driver.phase !== 'Running') return undefined;
  if (app.executors.some((e) => e.phase === 'Running')) return undefined;
  const pending = app.executors.filter((e) => e.phase === 'Pending').length;
  const failed = app.executors.filter((e) => e.phase === 'Failed').length;
  if (pending === 0 && failed === 0) return undefined;
  // Since when no executor has been running: the driver's start, or the last executor that ended after it.
  let since = driver.startMs ?? driver.createdMs;
  for (const e of app.executors) if (e.endMs !== undefined && e.endMs > since) since = e.endMs;
  const stuckMs = now - since;
  if (stuckMs <= settings.stuckAfterMs) return undefined;
  return {
    namespace: app.namespace,
    appId: app.appId,
    appName,
    reason: pending > 0 ? 'executors-pending' : 'executors-failing',
    stuckSeconds: Math.floor(stuckMs / 1000),
    pendingExecutors: pending,
    failedExecutors: failed,
  };
}

/** UTC midnight of the day `now` is in. */
function startOfDay(now: number): number {
  return now - (now % 86_400_000);
}

/**
 * Computes the view from the model and the store's signals at `now`. Pure: the same inputs
 * give the same view, whichever path (watch or list snapshot) built the model.
 */
export function computeView(model: SparkModel, signals: Pick<StoreSignals, 'parked' | 'janitor'>, now: number, settings: MonitorSettings): MonitorView {
  const apps = group(model);
  const states = new Tally<string>();
  const startedToday = new Tally<string>();
  const cpu = new Tally<string>();
  const memory = new Tally<string>();
  const podCounts = new PodTally();
  const executors = new Tally<string>();
  const leftovers = new Tally<string>();
  const running: { ref: AppRef; memoryBytes: number; runtimeMs: number }[] = [];
  const stuck: StuckApp[] = [];
  const objectsOf = new Map<string, Record<CleanKind, number>>();
  const today = startOfDay(now);

  for (const app of apps) {
    for (const pod of app.drivers) podCounts.add(pod);
    for (const pod of app.executors) {
      podCounts.add(pod);
      if (pod.phase === 'Running') executors.add(`${pod.zone}\u0000${pod.instanceType}\u0000${pod.capacity}`);
    }
    const hasOwner = app.drivers.length > 0 || app.sparkApps.length > 0;
    const driver = newest(app.drivers);
    const appName = driver?.appName || app.executors[0]?.appName || app.sparkApps[0]?.name || '';
    if (hasOwner) {
      const state = appState(app);
      states.add(`${app.namespace}\u0000${state}`);
      if (driver?.startMs !== undefined && driver.startMs >= today) startedToday.add(app.namespace);
      if (state === 'running') {
        let appMemory = 0;
        let appCpu = 0;
        for (const pods of [app.drivers, app.executors]) {
          for (const p of pods) {
            if (!isLive(p)) continue;
            appMemory += p.memoryBytes;
            appCpu += p.cpuCores;
          }
        }
        cpu.add(app.namespace, appCpu);
        memory.add(app.namespace, appMemory);
        const startedAt = driver?.startMs ?? driver?.createdMs ?? app.sparkApps[0]?.createdMs ?? now;
        running.push({ ref: { namespace: app.namespace, appId: app.appId, appName }, memoryBytes: appMemory, runtimeMs: Math.max(0, now - startedAt) });
        const isStuck = stuckOf(app, appName, now, settings);
        if (isStuck) stuck.push(isStuck);
      }
    }
    // Only an app with an owner whose drivers all ended can be finished: judge just those (the costly part of a view).
    const mayBeFinished = hasOwner && app.drivers.every((d) => d.phase === 'Succeeded' || d.phase === 'Failed');
    const verdict = mayBeFinished ? judgeApp(asAppObjects(app), settings.janitor) : undefined;
    const counts: Record<CleanKind, number> = {
      'executor-pods': app.executors.length,
      configmaps: app.others.configmaps.length,
      services: app.others.services.length,
      ingresses: app.others.ingresses.length,
      'driver-pod': app.drivers.length,
    };
    objectsOf.set(`${app.namespace}/${app.appId}`, counts);
    if (verdict?.state === 'finished') {
      const age = ageBucket(Math.max(0, now - verdict.finishedAt));
      for (const [kind, count] of Object.entries(counts)) if (count > 0) leftovers.add(`${kind}\u0000${age}`, count);
    }
  }

  const failing = new Tally<string>();
  for (const failure of signals.janitor?.failures ?? []) {
    // Still failing while the objects are still there; what a later delete took is not.
    const count = objectsOf.get(`${failure.namespace}/${failure.appId}`)?.[failure.kind] ?? 0;
    if (count > 0) failing.add(failure.kind, count);
  }

  const waiting = new Tally<string>();
  const blockedCount = new Tally<string>();
  const blocked: BlockedSubmission[] = [];
  for (const parked of signals.parked) {
    waiting.add(parked.namespace);
    const waitedMs = now - parked.enqueuedAt;
    if (waitedMs > settings.quotaBlockedAfterMs) {
      blockedCount.add(parked.namespace);
      blocked.push({ namespace: parked.namespace, submissionId: parked.submissionId, waitingSeconds: Math.floor(waitedMs / 1000) });
    }
  }

  const split = (key: string) => key.split('\u0000');
  const rank = (score: (r: (typeof running)[number]) => number): TopApp[] =>
    running
      .map((r) => ({ ...r.ref, value: score(r) }))
      .sort((a, b) => b.value - a.value || byText(a.namespace, b.namespace) || byText(a.appId, b.appId))
      .slice(0, settings.topN)
      .map((r, i) => ({ rank: i + 1, ...r }));

  const quotas: MonitorView['quotas'] = [];
  for (const quota of model.quotas.values()) {
    const hard = new Map(quota.hard);
    const used = new Map(quota.used);
    for (const resource of new Set([...hard.keys(), ...used.keys()])) {
      quotas.push({ namespace: quota.namespace, quota: quota.name, resource, hard: hard.get(resource) ?? null, used: used.get(resource) ?? null });
    }
  }

  const namespaces = new Set([...cpu.counts.keys()]);
  return {
    at: now,
    apps: [...states.counts].map(([k, count]) => ({ namespace: split(k)[0]!, state: split(k)[1] as AppState, count })).sort((a, b) => byText(a.namespace, b.namespace) || APP_STATES.indexOf(a.state) - APP_STATES.indexOf(b.state)),
    appsStartedToday: [...startedToday.counts].map(([namespace, count]) => ({ namespace, count })).sort((a, b) => byText(a.namespace, b.namespace)),
    requested: [...namespaces].sort(byText).map((namespace) => ({ namespace, cpuCores: round(cpu.counts.get(namespace) ?? 0), memoryBytes: memory.counts.get(namespace) ?? 0 })),
    quotas: quotas.sort((a, b) => byText(a.namespace, b.namespace) || byText(a.quota, b.quota) || byText(a.resource, b.resource)),
    pods: podCounts.rows().sort((a, b) => byText(a.namespace, b.namespace) || byText(a.role, b.role) || byText(a.phase, b.phase)),
    executors: [...executors.counts]
      .map(([k, count]) => ({ zone: split(k)[0]!, instanceType: split(k)[1]!, capacity: split(k)[2] as Capacity, count }))
      .sort((a, b) => byText(a.zone, b.zone) || byText(a.instanceType, b.instanceType) || byText(a.capacity, b.capacity)),
    topByMemoryTime: rank((r) => r.memoryBytes * Math.floor(r.runtimeMs / 1000)),
    topByRuntime: rank((r) => Math.floor(r.runtimeMs / 1000)),
    leftovers: [...leftovers.counts]
      .map(([k, count]) => ({ kind: split(k)[0] as CleanKind, age: split(k)[1] as AgeBucket, count }))
      .sort((a, b) => byText(a.kind, b.kind) || AGE_BUCKETS.indexOf(a.age) - AGE_BUCKETS.indexOf(b.age)),
    leftoversFailing: [...failing.counts].map(([kind, count]) => ({ kind: kind as CleanKind, count })).sort((a, b) => byText(a.kind, b.kind)),
    stuck: stuck.sort((a, b) => b.stuckSeconds - a.stuckSeconds || byText(a.namespace, b.namespace) || byText(a.appId, b.appId)),
    quotaWaiting: [...waiting.counts].map(([namespace, count]) => ({ namespace, waiting: count, blocked: blockedCount.counts.get(namespace) ?? 0 })).sort((a, b) => byText(a.namespace, b.namespace)),
    blocked: blocked.sort((a, b) => b.waitingSeconds - a.waitingSeconds || byText(a.namespace, b.namespace) || byText(a.submissionId, b.submissionId)),
  };
}

/** CPU sums of millicore quantities: rounded to the millicore so float noise never shows. */
function round(cores: number): number {
  return Math.round(cores * 1000) / 1000;
}
