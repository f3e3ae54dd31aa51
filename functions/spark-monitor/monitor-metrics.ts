import { Gauge, type Counter } from 'prom-client';
import { METRIC_PREFIX, type Metrics } from '../../shared/metrics.js';
import type { MonitorView } from './view.js';

/** Gauge name (without the `sparkfn_` prefix), help, labels, and how to fill it from a view. */
type GaugeSpec = [name: string, help: string, labels: readonly string[], fill: (gauge: Gauge, view: MonitorView) => void];

const GAUGES: readonly GaugeSpec[] = [
  ['monitor_apps', 'Spark apps known to the monitor (a driver pod or SparkApplication), by namespace and state.', ['namespace', 'state'], (g, v) => v.apps.forEach((a) => g.set({ namespace: a.namespace, state: a.state }, a.count))],
  ['monitor_apps_started_today', 'Apps whose driver started since 00:00 UTC today (from the driver pods still in the cluster).', ['namespace'], (g, v) => v.appsStartedToday.forEach((a) => g.set({ namespace: a.namespace }, a.count))],
  ['monitor_requested_cpu_cores', 'Sum of the cpu requests of the live pods of running apps.', ['namespace'], (g, v) => v.requested.forEach((r) => g.set({ namespace: r.namespace }, r.cpuCores))],
  ['monitor_requested_memory_bytes', 'Sum of the memory requests (with pod overhead) of the live pods of running apps.', ['namespace'], (g, v) => v.requested.forEach((r) => g.set({ namespace: r.namespace }, r.memoryBytes))],
  ['monitor_quota_hard', 'ResourceQuota spec.hard (cpu in cores, memory in bytes, counts).', ['namespace', 'quota', 'resource'], (g, v) => v.quotas.forEach((q) => q.hard !== null && g.set({ namespace: q.namespace, quota: q.quota, resource: q.resource }, q.hard))],
  ['monitor_quota_used', 'ResourceQuota status.used, same units as monitor_quota_hard.', ['namespace', 'quota', 'resource'], (g, v) => v.quotas.forEach((q) => q.used !== null && g.set({ namespace: q.namespace, quota: q.quota, resource: q.resource }, q.used))],
  ['monitor_pods', 'Spark pods by namespace, role (driver, executor) and phase.', ['namespace', 'role', 'phase'], (g, v) => v.pods.forEach((p) => g.set({ namespace: p.namespace, role: p.role, phase: p.phase }, p.count))],
  ['monitor_executors', 'Running executors by ECI zone, instance type and capacity (spot, on-demand, spot-fallback).', ['zone', 'instance_type', 'capacity'], (g, v) => v.executors.forEach((e) => g.set({ zone: e.zone, instance_type: e.instanceType, capacity: e.capacity }, e.count))],
  ['monitor_top_app_memory_byte_seconds', 'Top-N running apps by requested memory times runtime.', ['rank', 'app_id', 'app_name', 'namespace'], (g, v) => v.topByMemoryTime.forEach((t) => g.set({ rank: String(t.rank), app_id: t.appId, app_name: t.appName, namespace: t.namespace }, t.value))],
  ['monitor_top_app_runtime_seconds', 'Top-N running apps by runtime.', ['rank', 'app_id', 'app_name', 'namespace'], (g, v) => v.topByRuntime.forEach((t) => g.set({ rank: String(t.rank), app_id: t.appId, app_name: t.appName, namespace: t.namespace }, t.value))],
  ['monitor_leftovers', 'Objects of finished apps not cleaned yet, by janitor kind and time since the app finished.', ['kind', 'age'], (g, v) => v.leftovers.forEach((l) => g.set({ kind: l.kind, age: l.age }, l.count))],
  ['monitor_leftovers_failing', "Objects janitor's last run failed to delete that are still there.", ['kind'], (g, v) => v.leftoversFailing.forEach((l) => g.set({ kind: l.kind }, l.count))],
  ['monitor_stuck_apps', 'Apps whose driver runs with no running executor for longer than the threshold while executors fail or stay Pending.', ['namespace'], (g, v) => countBy(v.stuck.map((s) => s.namespace)).forEach((n, namespace) => g.set({ namespace }, n))],
  ['monitor_quota_waiting_submissions', 'Submissions parked by quota-retry.', ['namespace'], (g, v) => v.quotaWaiting.forEach((q) => g.set({ namespace: q.namespace }, q.waiting))],
  ['monitor_quota_blocked_submissions', 'Submissions parked longer than the threshold.', ['namespace'], (g, v) => v.quotaWaiting.forEach((q) => g.set({ namespace: q.namespace }, q.blocked))],
];

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** The monitor's metrics in one registry. */
export interface MonitorMetrics {
  appsStarted: Counter;
  eciCreateFailures: Counter;
}

/**
 * Registers the monitor's gauges on `metrics` (once per registry). Each gauge is filled at
 * scrape time from `view()`, which the caller caches, so a scrape costs one view computation
 * and series of apps that went away vanish at once. `view()` returning undefined (no complete
 * model yet) leaves every gauge empty rather than reporting zeros that are not known.
 */
export function registerMonitorMetrics(metrics: Metrics, view: () => MonitorView | undefined, topN: number, lastSnapshotAt: () => number | undefined): MonitorMetrics {
  for (const [name, help, labelNames, fill] of GAUGES) {
    if (metrics.registry.getSingleMetric(METRIC_PREFIX + name)) continue;
    new Gauge({
      name: METRIC_PREFIX + name,
      help,
      labelNames,
      registers: [metrics.registry],
      collect() {
        this.reset();
        const current = view();
        if (current) fill(this, current);
      },
    });
  }
  if (!metrics.registry.getSingleMetric(`${METRIC_PREFIX}monitor_stuck_app`)) {
    new Gauge({
      name: `${METRIC_PREFIX}monitor_stuck_app`,
      help: `1 per stuck app, the ${topN} stuck longest.`,
      labelNames: ['app_id', 'app_name', 'namespace', 'reason'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const s of view()?.stuck.slice(0, topN) ?? []) this.set({ app_id: s.appId, app_name: s.appName, namespace: s.namespace, reason: s.reason }, 1);
      },
    });
  }
  if (!metrics.registry.getSingleMetric(`${METRIC_PREFIX}monitor_last_snapshot_timestamp_seconds`)) {
    new Gauge({
      name: `${METRIC_PREFIX}monitor_last_snapshot_timestamp_seconds`,
      help: 'When the monitor last had a complete model (a list snapshot, or the leader timer over the synced watches).',
      registers: [metrics.registry],
      collect() {
        this.reset();
        const at = lastSnapshotAt();
        if (at !== undefined) this.set(at / 1000);
      },
    });
  }
  return {
    appsStarted: metrics.counter('monitor_apps_started_total', 'Distinct apps whose driver started, seen by this process.', ['namespace']),
    eciCreateFailures: metrics.counter('monitor_eci_create_failures_total', 'ECI creation failures (ProviderCreateFailed, stock-outs) from pod events.', ['zone', 'instance_type', 'reason']),
  };
}
