import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import type { JanitorDeps } from '../../functions/janitor/deps.js';
import { DEFAULT_SETTINGS, type JanitorSettings } from '../../functions/janitor/settings.js';
import type { KubeObject, TestApiserver } from '../support/apiserver/index.js';

/** The time every janitor test runs at. */
export const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
export const HOUR = 3_600_000;
export const iso = (ms: number) => new Date(ms).toISOString();

/** The settings tests start from: defaults, no QPS cap, room for every app. */
export const TEST_SETTINGS: JanitorSettings = { ...DEFAULT_SETTINGS, qps: 0, maxApps: 10_000 };

/** One Spark app as a test describes it. */
export interface AppSpec {
  namespace: string;
  appId: string;
  /** Driver phase; undefined: no driver pod (an orphan, or an app known only by its SparkApplication). */
  driverPhase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** When the driver's container terminated. */
  finishedAt?: number;
  executors?: number;
  configmaps?: number;
  services?: number;
  ingresses?: number;
  /** Annotations on the driver pod (and on the SparkApplication when there is one). */
  annotations?: Record<string, string>;
  /** A SparkApplication in this state (`RUNNING`, `COMPLETED`, `FAILED`) pointing at the app. */
  sparkAppState?: string;
  /** Annotations on the SparkApplication only. */
  sparkAppAnnotations?: Record<string, string>;
  /** creationTimestamp of every object. */
  createdAt?: number;
  /** Annotations on the first ConfigMap only (per-object opt-out). */
  configmapAnnotations?: Record<string, string>;
}

/** `kind namespace/name` of an object, how tests compare cluster states. */
export type ObjectRef = string;
export const ref = (kind: string, namespace: string, name: string): ObjectRef => `${kind} ${namespace}/${name}`;

/** The objects of one app, as kube-apiserver would hold them. */
export function appObjects(spec: AppSpec): KubeObject[] {
  const { namespace, appId } = spec;
  const created = iso(spec.createdAt ?? NOW - 30 * 24 * HOUR);
  const labels = (role?: string) => ({ 'spark-app-selector': appId, ...(role ? { 'spark-role': role } : {}), 'spark-app-name': appId });
  const meta = (name: string, role?: string, annotations?: Record<string, string>) => ({
    name,
    namespace,
    creationTimestamp: created,
    labels: labels(role),
    ...(annotations ? { annotations } : {}),
  });
  const objects: KubeObject[] = [];
  if (spec.driverPhase) {
    const terminated = spec.finishedAt !== undefined && (spec.driverPhase === 'Succeeded' || spec.driverPhase === 'Failed');
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta(`${appId}-driver`, 'driver', spec.annotations),
      spec: { containers: [{ name: 'spark-kubernetes-driver', image: 'apache/spark:3.5.1' }] },
      status: {
        phase: spec.driverPhase,
        containerStatuses: [
          {
            name: 'spark-kubernetes-driver',
            state: terminated
              ? { terminated: { exitCode: spec.driverPhase === 'Succeeded' ? 0 : 1, startedAt: iso(spec.finishedAt! - HOUR), finishedAt: iso(spec.finishedAt!) } }
              : { running: { startedAt: created } },
          },
        ],
      },
    });
  }
  for (let i = 1; i <= (spec.executors ?? 0); i++) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta(`${appId}-exec-${i}`, 'executor'),
      spec: { containers: [{ name: 'spark-kubernetes-executor', image: 'apache/spark:3.5.1' }] },
      status: { phase: spec.driverPhase === 'Running' ? 'Running' : 'Succeeded' },
    });
  }
  for (let i = 1; i <= (spec.configmaps ?? 0); i++) {
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${appId}-conf-${i}`, undefined, i === 1 ? spec.configmapAnnotations : undefined), data: { 'spark.properties': 'spark.app.name=x' } });
  }
  for (let i = 1; i <= (spec.services ?? 0); i++) {
    objects.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(`${appId}-driver-svc${i > 1 ? `-${i}` : ''}`), spec: { clusterIP: 'None', ports: [{ name: 'driver-rpc-port', port: 7078 }] } });
  }
  for (let i = 1; i <= (spec.ingresses ?? 0); i++) {
    objects.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(`${appId}-ui${i > 1 ? `-${i}` : ''}`),
      spec: { rules: [{ host: `${appId}.spark.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `${appId}-ui-svc`, port: { number: 4040 } } } }] } }] },
    });
  }
  if (spec.sparkAppState) {
    objects.push({
      apiVersion: 'sparkoperator.k8s.io/v1beta2',
      kind: 'SparkApplication',
      metadata: { name: appId, namespace, creationTimestamp: created, annotations: { ...spec.annotations, ...spec.sparkAppAnnotations } },
      spec: { type: 'Scala', mode: 'cluster', mainClass: 'com.example.Etl' },
      status: {
        sparkApplicationId: appId,
        applicationState: { state: spec.sparkAppState },
        ...(spec.finishedAt !== undefined && ['COMPLETED', 'FAILED'].includes(spec.sparkAppState) ? { terminationTime: iso(spec.finishedAt) } : {}),
      },
    });
  }
  return objects;
}

/** Objects without Spark labels that janitor must never touch. */
export function unrelatedObjects(namespace: string, count: number): KubeObject[] {
  const out: KubeObject[] = [];
  for (let i = 0; i < count; i++) {
    const metadata = { name: `web-${i}`, namespace, creationTimestamp: iso(NOW - 90 * 24 * HOUR), labels: { app: 'web' } };
    out.push({ apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers: [{ name: 'web', image: 'nginx' }] }, status: { phase: i % 2 ? 'Succeeded' : 'Failed' } });
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...metadata, name: `web-conf-${i}` }, data: {} });
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: { ...metadata, name: `web-svc-${i}` }, spec: {} });
    out.push({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { ...metadata, name: `web-ui-${i}` }, spec: {} });
  }
  return out;
}

export const refOf = (o: KubeObject): ObjectRef => ref(o.kind!, o.metadata.namespace!, o.metadata.name);

/** Every object janitor could see (the kinds it lists), as refs. */
export function clusterRefs(server: TestApiserver): Set<ObjectRef> {
  const out = new Set<ObjectRef>();
  for (const resource of ['pods', 'configmaps', 'services', 'ingresses.networking.k8s.io', 'sparkapplications.sparkoperator.k8s.io']) {
    for (const o of server.list(resource)) out.add(refOf(o));
  }
  return out;
}

/** Deps for janitor on `server`, with a fresh filesystem store; `cleanup` removes the store. */
export async function janitorDeps(server: TestApiserver, options: { token?: string; signal?: AbortSignal; clock?: ManualClock } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'janitor-'));
  const metrics = new Metrics();
  const deps: JanitorDeps = {
    store: new FileObjectStore(dir),
    clock: options.clock ?? new ManualClock(NOW),
    logger: silentLogger,
    metrics,
    kubeConfig: server.kubeConfig(options.token ? { token: options.token } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return { deps, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
