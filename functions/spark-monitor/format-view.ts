import { formatTable } from '../../shared/text/table.js';
import { AGE_BUCKETS, APP_STATES, type MonitorView } from './view.js';

const GI = 1024 ** 3;

function gib(bytes: number): string {
  return `${(bytes / GI).toFixed(1)} GiB`;
}

function quantity(resource: string, value: number | null): string {
  if (value === null) return '-';
  return /memory|storage/.test(resource) ? gib(value) : String(Math.round(value * 1000) / 1000);
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(seconds % 60).padStart(2, '0')}s`;
}

function section(title: string, body: string): string {
  return `${title}\n${body}\n`;
}

/** The view as people read it: one table per question (apps, stuck, leftovers, spot mix, quota use, waiting submissions, top apps). */
export function formatView(view: MonitorView): string {
  const parts: string[] = [`spark-monitor view at ${new Date(view.at).toISOString()}\n`];

  const namespaces = [...new Set(view.apps.map((a) => a.namespace))].sort();
  const count = (namespace: string, state: string) => view.apps.find((a) => a.namespace === namespace && a.state === state)?.count ?? 0;
  const requested = (namespace: string) => view.requested.find((r) => r.namespace === namespace);
  parts.push(
    section(
      'Apps by state',
      namespaces.length === 0
        ? 'No Spark apps.'
        : formatTable(
            ['namespace', ...APP_STATES, 'started today', 'cpu requested', 'memory requested'],
            namespaces.map((ns) => [
              ns,
              ...APP_STATES.map((s) => String(count(ns, s))),
              String(view.appsStartedToday.find((a) => a.namespace === ns)?.count ?? 0),
              String(requested(ns)?.cpuCores ?? 0),
              gib(requested(ns)?.memoryBytes ?? 0),
            ]),
          ),
    ),
  );

  parts.push(
    section(
      `Stuck apps (${view.stuck.length})`,
      view.stuck.length === 0
        ? 'None.'
        : formatTable(
            ['namespace', 'app', 'name', 'why', 'no executor for', 'pending', 'failed'],
            view.stuck.map((s) => [s.namespace, s.appId, s.appName, s.reason, duration(s.stuckSeconds), String(s.pendingExecutors), String(s.failedExecutors)]),
          ),
    ),
  );

  const kinds = [...new Set(view.leftovers.map((l) => l.kind))].sort();
  parts.push(
    section(
      'Leftovers of finished apps (objects, by time since the app finished)',
      kinds.length === 0
        ? 'None.'
        : formatTable(
            ['kind', ...AGE_BUCKETS, 'janitor failing'],
            kinds.map((kind) => [
              kind,
              ...AGE_BUCKETS.map((age) => String(view.leftovers.find((l) => l.kind === kind && l.age === age)?.count ?? 0)),
              String(view.leftoversFailing.find((l) => l.kind === kind)?.count ?? 0),
            ]),
          ),
    ),
  );

  const total = view.executors.reduce((s, e) => s + e.count, 0);
  const byCapacity = (capacity: string) => view.executors.filter((e) => e.capacity === capacity).reduce((s, e) => s + e.count, 0);
  parts.push(
    section(
      `Spot mix (running executors: ${total}; spot ${byCapacity('spot')}, on-demand ${byCapacity('on-demand')}, spot fallback ${byCapacity('spot-fallback')})`,
      total === 0 ? 'No running executors.' : formatTable(['zone', 'instance type', 'capacity', 'executors'], view.executors.map((e) => [e.zone, e.instanceType, e.capacity, String(e.count)])),
    ),
  );

  parts.push(
    section(
      'Quota use',
      view.quotas.length === 0
        ? 'No ResourceQuotas.'
        : formatTable(
            ['namespace', 'quota', 'resource', 'used', 'hard', 'use'],
            view.quotas.map((q) => [q.namespace, q.quota, q.resource, quantity(q.resource, q.used), quantity(q.resource, q.hard), q.hard && q.used !== null ? `${Math.round((q.used / q.hard) * 100)} %` : '-']),
          ),
    ),
  );

  parts.push(
    section(
      `Submissions waiting for quota (${view.quotaWaiting.reduce((s, q) => s + q.waiting, 0)}; blocked longer than the threshold: ${view.blocked.length})`,
      view.quotaWaiting.length === 0 ? 'None.' : formatTable(['namespace', 'waiting', 'blocked'], view.quotaWaiting.map((q) => [q.namespace, String(q.waiting), String(q.blocked)])),
    ),
  );

  parts.push(
    section(
      'Top running apps by runtime',
      view.topByRuntime.length === 0 ? 'None.' : formatTable(['rank', 'namespace', 'app', 'name', 'runtime'], view.topByRuntime.map((t) => [String(t.rank), t.namespace, t.appId, t.appName, duration(t.value)])),
    ),
  );
  parts.push(
    section(
      'Top running apps by requested memory × runtime',
      view.topByMemoryTime.length === 0 ? 'None.' : formatTable(['rank', 'namespace', 'app', 'name', 'GiB·h'], view.topByMemoryTime.map((t) => [String(t.rank), t.namespace, t.appId, t.appName, (t.value / GI / 3600).toFixed(1)])),
    ),
  );
  return parts.join('\n');
}
