import type { KubeObject } from '../support/apiserver/index.js';

/** A Spark cluster state of known shape, and the numbers spark-monitor must report for it (worked out here, by arithmetic). */
export interface ClusterPlan {
  namespaces: number;
  /** Driver and every executor Running. */
  running: number;
  /** Driver Running for an hour, every executor Pending (past the 10-minute stuck threshold). */
  stuck: number;
  /** Driver and executors Succeeded 30 h ago, a ConfigMap and a Service left behind: leftovers a day old. */
  finished: number;
  /** Driver Pending, no executor yet. */
  submitted: number;
  executorsPerApp: number;
}

export const HOUR_MS = 3_600_000;
const GIB = 1024 ** 3;
/** Requests of each pod, as Spark's defaults would make them (spark.driver.memory 4g + overhead, executors 2 cores 8g). */
export const DRIVER_REQUESTS = { cpu: 1, memoryBytes: 4 * GIB };
export const EXECUTOR_REQUESTS = { cpu: 2, memoryBytes: 8 * GIB };
/** Zones and specs executors are spread over, round-robin; every third executor on-demand. */
export const ZONES = ['cn-hangzhou-h', 'cn-hangzhou-i'] as const;
export const SPECS = ['ecs.g7.2xlarge', 'ecs.g7.4xlarge'] as const;
export const QUOTA_HARD = { cpu: 1000, memoryBytes: 4096 * GIB };

export interface ExpectedNumbers {
  appsByState: Record<string, number>;
  stuckAppIds: string[];
  /** `sparkfn_monitor_leftovers{age="gt_24h"}` by kind. */
  leftoversDayOld: Record<string, number>;
  requestedCpuByNamespace: Record<string, number>;
  requestedMemoryByNamespace: Record<string, number>;
  runningExecutorsByCapacity: Record<string, number>;
  pods: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
export const namespaceOf = (i: number, plan: ClusterPlan) => `spark-team-${i % plan.namespaces}`;
export const appIdOf = (kind: string, i: number) => `spark-${kind}-${String(i).padStart(5, '0')}`;

function pod(namespace: string, appId: string, name: string, role: 'driver' | 'executor', phase: string, options: { createdMs: number; startMs?: number; endMs?: number; n?: number }): KubeObject {
  const requests = role === 'driver' ? DRIVER_REQUESTS : EXECUTOR_REQUESTS;
  const n = options.n ?? 0;
  const annotations: Record<string, string> =
    role === 'executor'
      ? {
          'k8s.aliyun.com/eci-instance-zone': ZONES[n % ZONES.length]!,
          'k8s.aliyun.com/eci-instance-spec': SPECS[Math.floor(n / ZONES.length) % SPECS.length]!,
          ...(n % 3 === 2 ? {} : { 'k8s.aliyun.com/eci-spot-strategy': 'SpotAsPriceGo' }),
        }
      : {};
  const container = role === 'driver' ? 'spark-kubernetes-driver' : 'spark-kubernetes-executor';
  const state =
    options.endMs !== undefined
      ? { terminated: { exitCode: 0, startedAt: iso(options.startMs ?? options.createdMs), finishedAt: iso(options.endMs) } }
      : options.startMs !== undefined
        ? { running: { startedAt: iso(options.startMs) } }
        : { waiting: { reason: 'ContainerCreating' } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      creationTimestamp: iso(options.createdMs),
      labels: { 'spark-app-selector': appId, 'spark-role': role, 'spark-app-name': appId.replace(/-\d+$/, '') },
      annotations,
    },
    spec: {
      containers: [{ name: container, image: 'apache/spark:3.5.1', resources: { requests: { cpu: String(requests.cpu), memory: `${requests.memoryBytes / GIB}Gi` } } }],
    },
    status: { phase, ...(options.startMs !== undefined ? { startTime: iso(options.startMs) } : {}), containerStatuses: [{ name: container, state }] },
  };
}

/** The objects of `plan` at `now`, and what the monitor must say about them. */
export function sparkCluster(plan: ClusterPlan, now: number): { objects: KubeObject[]; expected: ExpectedNumbers } {
  const objects: KubeObject[] = [];
  const expected: ExpectedNumbers = {
    appsByState: {},
    stuckAppIds: [],
    leftoversDayOld: {},
    requestedCpuByNamespace: {},
    requestedMemoryByNamespace: {},
    runningExecutorsByCapacity: {},
    pods: 0,
  };
  const add = (record: Record<string, number>, key: string, by: number) => (record[key] = (record[key] ?? 0) + by);
  const E = plan.executorsPerApp;
  let app = 0;

  const liveApp = (kind: 'running' | 'stuck') => {
    const namespace = namespaceOf(app, plan);
    const appId = appIdOf(kind, app++);
    const started = now - HOUR_MS;
    objects.push(pod(namespace, appId, `${appId}-driver`, 'driver', 'Running', { createdMs: started, startMs: started }));
    for (let n = 0; n < E; n++) {
      const name = `${appId}-exec-${n + 1}`;
      if (kind === 'running') {
        objects.push(pod(namespace, appId, name, 'executor', 'Running', { createdMs: started, startMs: started + 60_000, n }));
        add(expected.runningExecutorsByCapacity, n % 3 === 2 ? 'on-demand' : 'spot', 1);
      } else {
        objects.push(pod(namespace, appId, name, 'executor', 'Pending', { createdMs: started + 60_000, n }));
      }
    }
    add(expected.appsByState, 'running', 1);
    // Every pod of a running app that has not ended counts, Pending executors too (they hold quota).
    add(expected.requestedCpuByNamespace, namespace, DRIVER_REQUESTS.cpu + E * EXECUTOR_REQUESTS.cpu);
    add(expected.requestedMemoryByNamespace, namespace, DRIVER_REQUESTS.memoryBytes + E * EXECUTOR_REQUESTS.memoryBytes);
    if (kind === 'stuck') expected.stuckAppIds.push(appId);
  };

  for (let i = 0; i < plan.running; i++) liveApp('running');
  for (let i = 0; i < plan.stuck; i++) liveApp('stuck');
  for (let i = 0; i < plan.finished; i++) {
    const namespace = namespaceOf(app, plan);
    const appId = appIdOf('finished', app++);
    const started = now - 32 * HOUR_MS;
    const ended = now - 30 * HOUR_MS;
    objects.push(pod(namespace, appId, `${appId}-driver`, 'driver', 'Succeeded', { createdMs: started, startMs: started, endMs: ended }));
    for (let n = 0; n < E; n++) objects.push(pod(namespace, appId, `${appId}-exec-${n + 1}`, 'executor', 'Succeeded', { createdMs: started, startMs: started, endMs: ended - 60_000, n }));
    const meta = (name: string) => ({ name, namespace, uid: `uid-${name}`, creationTimestamp: iso(started), labels: { 'spark-app-selector': appId } });
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${appId}-conf`), data: { 'spark.properties': 'spark.app.name=x' } });
    objects.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(`${appId}-driver-svc`), spec: { clusterIP: 'None', ports: [{ name: 'driver-rpc-port', port: 7078 }] } });
    add(expected.appsByState, 'succeeded', 1);
    add(expected.leftoversDayOld, 'driver-pod', 1);
    add(expected.leftoversDayOld, 'executor-pods', E);
    add(expected.leftoversDayOld, 'configmaps', 1);
    add(expected.leftoversDayOld, 'services', 1);
  }
  for (let i = 0; i < plan.submitted; i++) {
    const namespace = namespaceOf(app, plan);
    const appId = appIdOf('submitted', app++);
    objects.push(pod(namespace, appId, `${appId}-driver`, 'driver', 'Pending', { createdMs: now - 60_000 }));
    add(expected.appsByState, 'submitted', 1);
  }
  for (let i = 0; i < plan.namespaces; i++) {
    const namespace = namespaceOf(i, plan);
    objects.push({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'spark', namespace, uid: `uid-quota-${namespace}`, creationTimestamp: iso(now - 90 * 24 * HOUR_MS) },
      spec: { hard: { 'requests.cpu': String(QUOTA_HARD.cpu), 'requests.memory': `${QUOTA_HARD.memoryBytes / GIB}Gi` } },
      status: {
        hard: { 'requests.cpu': String(QUOTA_HARD.cpu), 'requests.memory': `${QUOTA_HARD.memoryBytes / GIB}Gi` },
        used: { 'requests.cpu': String(expected.requestedCpuByNamespace[namespace] ?? 0), 'requests.memory': String(expected.requestedMemoryByNamespace[namespace] ?? 0) },
      },
    });
  }
  expected.pods = objects.filter((o) => o.kind === 'Pod').length;
  return { objects, expected };
}
