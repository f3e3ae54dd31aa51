// janitor: 1,000 finished apps × (1 driver + 50 executor pods + 2 ConfigMaps + 1 Service + 1 Ingress)
// on the test apiserver with a fixed per-call latency. janitor (one deletecollection per kind per
// app) against kube-janitor's approach (list, then one delete per object), each on a fresh copy
// of the same cluster, both one call at a time. Prints apiserver calls per app, wall time and ratios.
// `npm run bench janitor -- --apps 200 --latency-ms 2` to change the scale.
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { cleanUp } from '../functions/janitor/clean-up.js';
import { DEFAULT_SETTINGS } from '../functions/janitor/settings.js';
import { ManualClock } from '../shared/clock.js';
import { silentLogger } from '../shared/logger.js';
import { Metrics } from '../shared/metrics.js';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appObjects, HOUR, NOW } from '../test/janitor/cluster.js';
import { CountingStore } from '../test/quota-retry/counting-store.js';
import { startTestApiserver, type TestApiserver } from '../test/support/apiserver/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const APPS = arg('apps', 1000);
const LATENCY_MS = arg('latency-ms', 1);
/** Apps spread over namespaces as on a shared platform (and so each namespace's lists stay realistic). */
const NAMESPACES = 10;

async function seeded(): Promise<TestApiserver> {
  const server = await startTestApiserver();
  for (let i = 0; i < APPS; i++) {
    const spec = { namespace: `spark-team-${i % NAMESPACES}`, appId: `spark-bench-${String(i).padStart(5, '0')}`, driverPhase: 'Succeeded' as const, finishedAt: NOW - 5 * HOUR, executors: 50, configmaps: 2, services: 1, ingresses: 1 };
    for (const o of appObjects(spec)) server.put(o);
  }
  server.faults.setLatency(LATENCY_MS);
  return server;
}

function objectCount(server: TestApiserver): number {
  return ['pods', 'configmaps', 'services', 'ingresses'].reduce((n, r) => n + server.list(r).length, 0);
}

async function janitorRun(): Promise<{ calls: number; ms: number; left: number; objects: number; storeRequests: number }> {
  const server = await seeded();
  const objects = objectCount(server);
  const dir = await mkdtemp(join(tmpdir(), 'janitor-bench-'));
  const store = new CountingStore(new FileObjectStore(dir));
  const deps = { store, clock: new ManualClock(NOW), logger: silentLogger, metrics: new Metrics(), kubeConfig: server.kubeConfig() };
  const started = performance.now();
  const report = await cleanUp(deps, { ...DEFAULT_SETTINGS, qps: 0, maxApps: APPS });
  const ms = performance.now() - started;
  if (report.summary.cleaned !== APPS || report.summary.failed !== 0) throw new Error(`janitor cleaned ${report.summary.cleaned} of ${APPS} apps`);
  const result = { calls: server.calls.length, ms, left: objectCount(server), objects, storeRequests: store.total() };
  await server.stop();
  await rm(dir, { recursive: true, force: true });
  return result;
}

/** kube-janitor's way: list every kind, then delete each object with its own call. */
async function perObjectRun(): Promise<{ calls: number; ms: number; left: number }> {
  const server = await seeded();
  const kc = server.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const started = performance.now();
  const selector = { labelSelector: 'spark-app-selector', limit: 500 };
  const listAll = async <T extends { metadata?: { name?: string; namespace?: string } }>(list: (cont?: string) => Promise<{ items: T[]; metadata?: { _continue?: string } }>) => {
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const page = await list(cont);
      items.push(...page.items);
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return items;
  };
  const body = { propagationPolicy: 'Background' };
  const pods = await listAll((cont) => core.listPodForAllNamespaces({ ...selector, ...(cont ? { _continue: cont } : {}) }));
  const configmaps = await listAll((cont) => core.listConfigMapForAllNamespaces({ ...selector, ...(cont ? { _continue: cont } : {}) }));
  const services = await listAll((cont) => core.listServiceForAllNamespaces({ ...selector, ...(cont ? { _continue: cont } : {}) }));
  const ingresses = await listAll((cont) => networking.listIngressForAllNamespaces({ ...selector, ...(cont ? { _continue: cont } : {}) }));
  const id = (o: { metadata?: { name?: string; namespace?: string } }) => ({ name: o.metadata!.name!, namespace: o.metadata!.namespace!, body });
  // Executors before drivers, as janitor does; one object per call.
  for (const p of pods.filter((p) => p.metadata?.labels?.['spark-role'] !== 'driver')) await core.deleteNamespacedPod(id(p));
  for (const c of configmaps) await core.deleteNamespacedConfigMap(id(c));
  for (const s of services) await core.deleteNamespacedService(id(s));
  for (const i of ingresses) await networking.deleteNamespacedIngress(id(i));
  for (const p of pods.filter((p) => p.metadata?.labels?.['spark-role'] === 'driver')) await core.deleteNamespacedPod(id(p));
  const ms = performance.now() - started;
  const result = { calls: server.calls.length, ms, left: objectCount(server) };
  await server.stop();
  return result;
}

const ours = await janitorRun();
const baseline = await perObjectRun();
const perApp = (calls: number) => (calls / APPS).toFixed(2);
console.log(`${APPS} finished apps, ${ours.objects} objects, ${LATENCY_MS} ms per call, calls one at a time`);
console.log(`janitor (deletecollection per kind): ${ours.calls} calls = ${perApp(ours.calls)} per app, ${(ours.ms / 1000).toFixed(1)} s, ${ours.left} objects left`);
console.log(`janitor's object store requests (audit, write-ahead log): ${ours.storeRequests} = ${perApp(ours.storeRequests)} per app`);
console.log(`baseline (one delete per object):    ${baseline.calls} calls = ${perApp(baseline.calls)} per app, ${(baseline.ms / 1000).toFixed(1)} s, ${baseline.left} objects left`);
console.log(`ratio: ${(baseline.calls / ours.calls).toFixed(1)}× fewer calls, ${(baseline.ms / ours.ms).toFixed(1)}× less wall time`);
if (ours.left !== 0 || baseline.left !== 0) process.exitCode = 1;
