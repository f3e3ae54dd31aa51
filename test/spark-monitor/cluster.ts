/**
 * A Spark cluster of known state for the spark-monitor tests: 1,000 apps generated
 * deterministically from their index, and the exact series /metrics must show for it, computed
 * here from the generator's own description (not by the monitor's code).
 */
import type { ObjectStore } from '../../shared/store/object-store.js';
import { enqueue, type QueueEntry } from '../../functions/quota-retry/queue.js';
import { writeAudit, type AuditRecord } from '../../functions/janitor/audit.js';

/** 2026-12-06 12:00 UTC: noon, so some drivers started today and some yesterday. */
export const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
export const APPS = 1000;
export const NAMESPACES = ['spark-a', 'spark-b', 'spark-c', 'spark-d'] as const;
const MIN = 60_000;
const HOUR = 60 * MIN;
const GI = 1024 ** 3;
const ZONES = ['cn-hangzhou-h', 'cn-hangzhou-i'] as const;
const SPECS = ['ecs.g7.xlarge', 'ecs.c7.2xlarge', 'ecs.r7.xlarge'] as const;
const CAPACITIES = ['spot', 'on-demand', 'spot-fallback'] as const;

export type Category = 'running' | 'stuck' | 'starting' | 'finished' | 'leaking' | 'queued';
type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

interface PodSpec {
  name: string;
  role: 'driver' | 'executor';
  phase: Phase;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  cpu: number;
  memoryGi: number;
  zone?: string;
  spec?: string;
  capacity?: (typeof CAPACITIES)[number];
}

/** One generated app: what it is and every object it has. */
export interface AppSpec {
  index: number;
  namespace: string;
  appId: string;
  appName: string;
  category: Category;
  pods: PodSpec[];
  configmaps: number;
  services: number;
  ingresses: number;
  sparkApp?: { state: string; submitted: boolean };
  keep?: boolean;
  /** When the app ended (finished, leaking). */
  endedAt?: number;
  /** Parked in quota-retry's queue since (queued). */
  parkedAt?: number;
  /** janitor's last audit failed on its ConfigMaps. */
  janitorFailed?: boolean;
}

const pad = (i: number) => String(i).padStart(4, '0');

/** The category of app `i`: 4 in 10 running, 1 stuck, 1 starting, 2 finished, 1 leaking, 1 queued. */
export function categoryOf(i: number): Category {
  const c = i % 10;
  if (c <= 3) return 'running';
  if (c === 4) return 'stuck';
  if (c === 5) return 'starting';
  if (c <= 7) return 'finished';
  if (c === 8) return 'leaking';
  return 'queued';
}

function executor(appId: string, n: number, i: number, phase: Phase, times: Partial<PodSpec>): PodSpec {
  return {
    name: `${appId}-exec-${n}`,
    role: 'executor',
    phase,
    createdAt: times.createdAt ?? NOW - 40 * MIN,
    cpu: 2,
    memoryGi: 4,
    zone: ZONES[(i + n) % ZONES.length]!,
    spec: SPECS[i % SPECS.length]!,
    capacity: CAPACITIES[(i + n) % CAPACITIES.length]!,
    ...times,
  };
}

/** App `i`, deterministically. */
export function appSpec(i: number): AppSpec {
  // Contiguous blocks, so every namespace holds every category.
  const namespace = NAMESPACES[Math.floor((i * NAMESPACES.length) / APPS) % NAMESPACES.length]!;
  const appId = `spark-${pad(i)}`;
  const category = categoryOf(i);
  const base: AppSpec = { index: i, namespace, appId, appName: `job-${pad(i)}`, category, pods: [], configmaps: 0, services: 0, ingresses: 0 };
  const driver = (phase: Phase, startedAt: number, endedAt?: number): PodSpec => ({
    name: `${appId}-driver`,
    role: 'driver',
    phase,
    createdAt: startedAt - MIN,
    startedAt,
    ...(endedAt !== undefined ? { endedAt } : {}),
    cpu: 1,
    memoryGi: 2,
  });
  switch (category) {
    case 'running': {
      const started = NOW - (i + 1) * MIN;
      const pods = [driver('Running', started), executor(appId, 1, i, 'Running', { startedAt: started + MIN }), executor(appId, 2, i, 'Running', { startedAt: started + MIN })];
      return { ...base, pods, configmaps: 1, services: 1, ...(i % 20 === 0 ? { sparkApp: { state: 'RUNNING', submitted: true } } : {}) };
    }
    case 'stuck': {
      const started = NOW - 60 * MIN;
      if (i % 20 === 4) {
        const lastFailure = NOW - (12 + (i % 17)) * MIN;
        return { ...base, pods: [driver('Running', started), executor(appId, 1, i, 'Failed', { startedAt: started, endedAt: lastFailure }), executor(appId, 2, i, 'Pending', { createdAt: lastFailure })], configmaps: 1 };
      }
      const lastFailure = NOW - (20 + (i % 13)) * MIN;
      return {
        ...base,
        pods: [driver('Running', started), executor(appId, 1, i, 'Failed', { startedAt: started, endedAt: lastFailure - MIN }), executor(appId, 2, i, 'Failed', { startedAt: started, endedAt: lastFailure })],
        configmaps: 1,
      };
    }
    case 'starting': {
      const started = NOW - 5 * MIN;
      return { ...base, pods: [driver('Running', started), executor(appId, 1, i, 'Pending', { createdAt: started })], configmaps: 1 };
    }
    case 'finished': {
      const endedAt = NOW - 30 * MIN;
      const phase: Phase = i % 10 === 6 ? 'Succeeded' : 'Failed';
      return { ...base, pods: [driver(phase, endedAt - 2 * HOUR, endedAt)], configmaps: 1, endedAt, ...(i === 6 ? { keep: true } : {}) };
    }
    case 'leaking': {
      const endedAt = NOW - [2 * HOUR, 8 * HOUR, 30 * HOUR][i % 3]!;
      return {
        ...base,
        pods: [driver('Succeeded', endedAt - HOUR, endedAt), executor(appId, 1, i, 'Failed', { startedAt: endedAt - HOUR, endedAt })],
        configmaps: 2,
        services: 1,
        ingresses: i % 30 === 8 ? 1 : 0,
        endedAt,
        ...(i % 50 === 8 ? { janitorFailed: true } : {}),
      };
    }
    case 'queued':
      return { ...base, sparkApp: { state: 'SUBMITTED', submitted: false }, parkedAt: NOW - (i % 3 === 0 ? 45 : 5) * MIN };
  }
}

export function allApps(count = APPS): AppSpec[] {
  return Array.from({ length: count }, (_, i) => appSpec(i));
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The Kubernetes objects of one app, as a kubelet / controller would have left them. */
export function objectsOf(app: AppSpec): Record<string, unknown>[] {
  const labels = (role?: string) => ({ 'spark-app-selector': app.appId, 'spark-app-name': app.appName, ...(role ? { 'spark-role': role } : {}) });
  const objects: Record<string, unknown>[] = [];
  for (const pod of app.pods) {
    const annotations: Record<string, string> = {};
    const podLabels: Record<string, string> = labels(pod.role);
    if (pod.zone) annotations['k8s.aliyun.com/eci-instance-zone'] = pod.zone;
    if (pod.spec) annotations['k8s.aliyun.com/eci-instance-spec'] = pod.spec;
    if (pod.capacity === 'spot' || pod.capacity === 'spot-fallback') annotations['k8s.aliyun.com/eci-spot-strategy'] = 'SpotAsPriceGo';
    if (pod.capacity === 'spot-fallback') podLabels['sparkfn.io/capacity'] = 'on-demand-fallback';
    if (pod.role === 'driver' && app.keep) annotations['sparkfn.io/keep'] = 'true';
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: app.namespace, creationTimestamp: iso(pod.createdAt), labels: podLabels, annotations },
      spec: {
        containers: [{ name: pod.role === 'driver' ? 'spark-kubernetes-driver' : 'spark-kubernetes-executor', image: 'apache/spark:3.5.1', resources: { requests: { cpu: String(pod.cpu), memory: `${pod.memoryGi}Gi` } } }],
      },
      status: {
        phase: pod.phase,
        ...(pod.startedAt !== undefined ? { startTime: iso(pod.startedAt) } : {}),
        ...(pod.endedAt !== undefined ? { containerStatuses: [{ name: 'spark', state: { terminated: { exitCode: pod.phase === 'Failed' ? 1 : 0, finishedAt: iso(pod.endedAt) } } }] } : {}),
      },
    });
  }
  const created = iso((app.pods[0]?.createdAt ?? NOW - HOUR) + 1000);
  for (let n = 0; n < app.configmaps; n++) objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${app.appId}-conf-${n}`, namespace: app.namespace, creationTimestamp: created, labels: labels() }, data: { 'spark.properties': '' } });
  for (let n = 0; n < app.services; n++) {
    objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `${app.appId}-driver-svc`, namespace: app.namespace, creationTimestamp: created, labels: labels() }, spec: { clusterIP: 'None', ports: [{ port: 7078 }] } });
  }
  for (let n = 0; n < app.ingresses; n++) {
    objects.push({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: `${app.appId}-ui`, namespace: app.namespace, creationTimestamp: created, labels: labels() }, spec: { rules: [] } });
  }
  if (app.sparkApp) {
    objects.push({
      apiVersion: 'sparkoperator.k8s.io/v1beta2',
      kind: 'SparkApplication',
      metadata: { name: app.appName, namespace: app.namespace, creationTimestamp: iso(NOW - 70 * MIN) },
      spec: { type: 'Scala', mode: 'cluster' },
      status: { applicationState: { state: app.sparkApp.state }, ...(app.sparkApp.submitted ? { sparkApplicationId: app.appId } : {}) },
    });
  }
  return objects;
}

/** One ResourceQuota per namespace. */
export function quotas(): Record<string, unknown>[] {
  return NAMESPACES.map((namespace) => ({
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'spark-quota', namespace },
    spec: { hard: { 'requests.cpu': '2000', 'requests.memory': '4000Gi', pods: '3000' } },
  }));
}

/** quota-retry's queue entries and janitor's last audit, as those functions write them. */
export async function writeStoreSignals(store: ObjectStore, apps: readonly AppSpec[]): Promise<void> {
  for (const app of apps) {
    if (app.parkedAt === undefined) continue;
    const entry: QueueEntry = {
      version: 1,
      submissionId: app.appName,
      namespace: app.namespace,
      action: 'resubmit',
      objects: [],
      resubmit: { name: app.appName, marker: 'm' },
      resources: { 'requests.cpu': '9' },
      priority: 0,
      enqueuedAt: app.parkedAt,
      deadline: NOW + 6 * HOUR,
    };
    await enqueue(store, entry);
  }
  const failed = apps.filter((a) => a.janitorFailed);
  const record: AuditRecord = {
    runId: '20261206T115000Z-0a0b0c0d',
    startedAt: iso(NOW - 10 * MIN),
    finishedAt: iso(NOW - 9 * MIN),
    dryRun: false,
    namespaces: { include: [], exclude: ['kube-system'] },
    apps: failed.map((a) => ({
      namespace: a.namespace,
      appId: a.appId,
      state: 'finished' as const,
      kinds: [{ kind: 'configmaps' as const, method: 'deletecollection' as const, deleted: [], kept: [], error: 'configmaps is forbidden' }],
      deleted: 0,
    })),
    skipped: [],
    errors: [],
    fallbacks: {},
    counts: {},
  };
  await writeAudit(store, record, NOW - 10 * MIN);
}

/** Monitor settings the expectations below assume (the documented defaults, top 10, threshold 10 min / 30 min). */
export const TOP_N = 10;
const STUCK_AFTER_MS = 10 * MIN;
const BLOCKED_AFTER_MS = 30 * MIN;

/** A series as `name{label="value",…}` with labels sorted, the key /metrics parsing produces. */
export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length > 0 ? `${name}{${parts.join(',')}}` : name;
}

/**
 * Every sparkfn_monitor_* gauge series the cluster must produce, with its value, from the
 * generator's description: what an operator would count by hand.
 */
export function expectedSeries(apps: readonly AppSpec[], now = NOW): Map<string, number> {
  const out = new Map<string, number>();
  const add = (name: string, labels: Record<string, string>, by: number) => {
    const key = seriesKey(name, labels);
    out.set(key, (out.get(key) ?? 0) + by);
  };
  const live = (p: PodSpec) => p.phase === 'Pending' || p.phase === 'Running';
  const midnight = Date.UTC(2026, 11, 6);
  const running: { app: AppSpec; memory: number; runtime: number }[] = [];
  const stuck: { app: AppSpec; seconds: number; reason: string }[] = [];
  for (const app of apps) {
    const { namespace } = app;
    const driver = app.pods.find((p) => p.role === 'driver');
    for (const p of app.pods) {
      add('sparkfn_monitor_pods', { namespace, role: p.role, phase: p.phase }, 1);
      if (p.role === 'executor' && p.phase === 'Running') add('sparkfn_monitor_executors', { zone: p.zone!, instance_type: p.spec!, capacity: p.capacity! }, 1);
    }
    const state =
      app.category === 'queued' ? 'submitted' : app.category === 'running' || app.category === 'stuck' || app.category === 'starting' ? 'running' : driver!.phase === 'Succeeded' ? 'succeeded' : 'failed';
    add('sparkfn_monitor_apps', { namespace, state }, 1);
    if (driver?.startedAt !== undefined && driver.startedAt >= midnight) add('sparkfn_monitor_apps_started_today', { namespace }, 1);
    if (state === 'running') {
      const pods = app.pods.filter(live);
      const memory = pods.reduce((s, p) => s + p.memoryGi * GI, 0);
      add('sparkfn_monitor_requested_cpu_cores', { namespace }, pods.reduce((s, p) => s + p.cpu, 0));
      add('sparkfn_monitor_requested_memory_bytes', { namespace }, memory);
      running.push({ app, memory, runtime: Math.floor((now - driver!.startedAt!) / 1000) });
      const executors = app.pods.filter((p) => p.role === 'executor');
      if (!executors.some((e) => e.phase === 'Running') && executors.some((e) => e.phase !== 'Succeeded')) {
        const since = Math.max(driver!.startedAt!, ...executors.map((e) => e.endedAt ?? 0));
        if (now - since > STUCK_AFTER_MS) stuck.push({ app, seconds: Math.floor((now - since) / 1000), reason: executors.some((e) => e.phase === 'Pending') ? 'executors-pending' : 'executors-failing' });
      }
    }
    if ((app.category === 'finished' || app.category === 'leaking') && !app.keep) {
      const ageMs = now - app.endedAt!;
      const age = ageMs < HOUR ? 'lt_1h' : ageMs < 6 * HOUR ? '1h_to_6h' : ageMs < 24 * HOUR ? '6h_to_24h' : 'gt_24h';
      const executors = app.pods.filter((p) => p.role === 'executor').length;
      const counts: [string, number][] = [['driver-pod', 1], ['executor-pods', executors], ['configmaps', app.configmaps], ['services', app.services], ['ingresses', app.ingresses]];
      for (const [kind, n] of counts) if (n > 0) add('sparkfn_monitor_leftovers', { kind, age }, n);
      if (app.janitorFailed) add('sparkfn_monitor_leftovers_failing', { kind: 'configmaps' }, app.configmaps);
    }
    if (app.parkedAt !== undefined) {
      add('sparkfn_monitor_quota_waiting_submissions', { namespace }, 1);
      add('sparkfn_monitor_quota_blocked_submissions', { namespace }, now - app.parkedAt > BLOCKED_AFTER_MS ? 1 : 0);
    }
  }
  for (const s of stuck) add('sparkfn_monitor_stuck_apps', { namespace: s.app.namespace }, 1);
  const byName = (a: AppSpec, b: AppSpec) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.appId < b.appId ? -1 : 1);
  stuck.sort((a, b) => b.seconds - a.seconds || byName(a.app, b.app));
  for (const s of stuck.slice(0, TOP_N)) add('sparkfn_monitor_stuck_app', { app_id: s.app.appId, app_name: s.app.appName, namespace: s.app.namespace, reason: s.reason }, 1);
  const top = (score: (r: (typeof running)[number]) => number, name: string) =>
    [...running]
      .sort((a, b) => score(b) - score(a) || byName(a.app, b.app))
      .slice(0, TOP_N)
      .forEach((r, i) => add(name, { rank: String(i + 1), app_id: r.app.appId, app_name: r.app.appName, namespace: r.app.namespace }, score(r)));
  top((r) => r.memory * r.runtime, 'sparkfn_monitor_top_app_memory_byte_seconds');
  top((r) => r.runtime, 'sparkfn_monitor_top_app_runtime_seconds');
  // The test apiserver charges pods to the quota as kube's quota controller does: requests of non-terminal pods.
  for (const namespace of NAMESPACES) {
    const pods = apps.filter((a) => a.namespace === namespace).flatMap((a) => a.pods.filter(live));
    const labels = (resource: string) => ({ namespace, quota: 'spark-quota', resource });
    add('sparkfn_monitor_quota_hard', labels('requests.cpu'), 2000);
    add('sparkfn_monitor_quota_hard', labels('requests.memory'), 4000 * GI);
    add('sparkfn_monitor_quota_hard', labels('pods'), 3000);
    add('sparkfn_monitor_quota_used', labels('requests.cpu'), pods.reduce((s, p) => s + p.cpu, 0));
    add('sparkfn_monitor_quota_used', labels('requests.memory'), pods.reduce((s, p) => s + p.memoryGi * GI, 0));
    add('sparkfn_monitor_quota_used', labels('pods'), pods.length);
  }
  out.set('sparkfn_monitor_last_snapshot_timestamp_seconds', now / 1000);
  return out;
}

/** The sparkfn_monitor_* gauge series of a /metrics text (counters left out: they count what this process saw). */
export function parseMonitorGauges(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('sparkfn_monitor_') || line.startsWith('sparkfn_monitor_apps_started_total') || line.startsWith('sparkfn_monitor_eci_create_failures_total')) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').match(/[a-z_]+="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf('=');
      labels[pair.slice(0, eq)] = pair.slice(eq + 2, -1);
    }
    out.set(seriesKey(m[1]!, labels), Number(m[3]));
  }
  return out;
}

/** Loads the cluster into the test apiserver. */
export function loadCluster(apiserver: { put(object: never): unknown }, apps: readonly AppSpec[]): void {
  for (const quota of quotas()) apiserver.put(quota as never);
  for (const app of apps) for (const object of objectsOf(app)) apiserver.put(object as never);
}
