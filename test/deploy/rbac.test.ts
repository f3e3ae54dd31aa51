import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functions } from '../../functions/index.js';
import { run as runJanitor } from '../../functions/janitor/handler.js';
import type { JanitorDeps } from '../../functions/janitor/deps.js';
import { parseTtl } from '../../functions/janitor/ttl.js';
import { run as runQuotaRetry } from '../../functions/quota-retry/handler.js';
import { RESUBMIT_ANNOTATION } from '../../functions/quota-retry/spark-application.js';
import type { QuotaRetryDeps } from '../../functions/quota-retry/quota-retry-deps.js';
import type { QuotaRetrySummary } from '../../functions/quota-retry/summary.js';
import { kubeSpotCluster } from '../../functions/spot-fallback/cluster.js';
import { createSpotFunction } from '../../functions/spot-fallback/handler.js';
import type { SpotCounters } from '../../functions/spot-fallback/signals.js';
import { planWatches } from '../../app/cli/watch-plan.js';
import { startServe } from '../../app/cli/serve.js';
import { ManualClock } from '../../shared/clock.js';
import { loadConfig } from '../../shared/config.js';
import { createKubeClients } from '../../shared/k8s/client.js';
import { accessResourceName, LEASE_ACCESS } from '../../shared/k8s/required-access.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { callKey, startTestApiserver, type ApiCall, type KubeObject, type PolicyRule, type TestApiserver } from '../support/apiserver/index.js';
import { seededRandom } from '../support/apiserver/rng.js';
import { loadEvent } from '../support/events.js';
import { appObjects, clusterRefs, HOUR, NOW, ref, TEST_SETTINGS as JANITOR_SETTINGS } from '../janitor/cluster.js';
import { buildScenario, NAMESPACE_TTLS } from '../janitor/scenario.js';
import { bodyOf, putQuota, testSettings as quotaSettings, webhookRequest } from '../quota-retry/support.js';
import { baseDeps, NS as SPOT_NS, testSettings as spotSettings } from '../spot-fallback/harness.js';

/**
 * The self-hosted runner's ClusterRole against what the functions really call. Every scenario
 * below talks to the test apiserver as the runner's service account, which holds only the
 * ClusterRole's rules (the server's RBAC check answers 403 to anything else, as kube-apiserver
 * would). The last test compares the calls made with the rules: a call the role does not allow
 * and a rule no call used both fail it.
 */

const RBAC_FILE = new URL('../../deploy/rbac.yaml', import.meta.url);
const SA_TOKEN = 'sparkfn-service-account-token';
const SA_USER = 'system:serviceaccount:sparkfn:sparkfn';

interface ClusterRole {
  kind: 'ClusterRole';
  metadata: { name: string };
  rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
}

function clusterRole(): ClusterRole {
  const docs = parseAllDocuments(readFileSync(RBAC_FILE, 'utf8')).map((d) => d.toJS() as { kind?: string });
  const roles = docs.filter((d): d is ClusterRole => d.kind === 'ClusterRole');
  expect(roles.map((r) => r.metadata.name)).toEqual(['sparkfn']);
  return roles[0]!;
}

/** The namespaced Roles of rbac.yaml (leader election), each with the namespace it is bound in. */
function namespacedRoles(): (ClusterRole['rules'][number] & { namespace: string })[] {
  const docs = parseAllDocuments(readFileSync(RBAC_FILE, 'utf8')).map((d) => d.toJS() as { kind?: string; metadata: { name: string; namespace: string }; rules: ClusterRole['rules'] });
  return docs.filter((d) => d.kind === 'Role').flatMap((d) => d.rules.map((r) => ({ ...r, namespace: d.metadata.namespace })));
}

/** `verb resource[.group][/subresource]` for every verb × group × resource a role grants. */
function grants(role: Pick<ClusterRole, 'rules'>): Set<string> {
  const out = new Set<string>();
  for (const rule of role.rules) {
    for (const group of rule.apiGroups) {
      for (const entry of rule.resources) {
        const [resource, subresource] = entry.split('/') as [string, string | undefined];
        for (const verb of rule.verbs) out.add(callKey({ verb: verb as ApiCall['verb'], group, resource, ...(subresource ? { subresource } : {}) }));
      }
    }
  }
  return out;
}

/** Polls a condition of the test's own making (a watch the runner opens), never a fixed wait. */
async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('deploy/rbac.yaml: the ClusterRole against the functions’ calls', () => {
  const role = clusterRole();
  let server: TestApiserver;
  const dirs: string[] = [];
  const saCalls = () => server.calls.filter((c) => c.user === SA_USER);

  async function tempStore(): Promise<FileObjectStore> {
    const dir = await mkdtemp(join(tmpdir(), 'sparkfn-rbac-'));
    dirs.push(dir);
    return new FileObjectStore(dir);
  }

  beforeAll(async () => {
    server = await startTestApiserver({ seed: 8 });
    const rules: PolicyRule[] = role.rules.map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources, ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) }));
    // The leader-election Role holds only in the namespace its RoleBinding is in.
    const leaseRules: PolicyRule[] = namespacedRoles().map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources, namespaces: [r.namespace] }));
    server.addUser(SA_TOKEN, SA_USER, [...rules, ...leaseRules]);
  });
  afterAll(async () => {
    await server.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('grants nothing by wildcard and nothing by resource name', () => {
    const flat = role.rules.flatMap((r) => [...r.verbs, ...r.apiGroups, ...r.resources]);
    expect(flat).not.toContain('*');
    expect(role.rules.every((r) => !r.resourceNames)).toBe(true);
  });

  it('sparkfn serve opens every watch the functions ask for (list, then watch) as the service account', async () => {
    const wanted = functions.flatMap((fn) => fn.watches ?? []);
    expect(wanted.length).toBeGreaterThan(0);
    const store = await tempStore();
    // As deploy/deployment.yaml sets it: the Lease in the pod's own namespace.
    const config = loadConfig({ SPARKFN_LOG_LEVEL: 'silent', SPARKFN_LEASE_NAMESPACE: 'sparkfn' });
    const serve = await startServe({
      config,
      functions,
      port: 0,
      host: '127.0.0.1',
      deps: createDeps(config, { logger: silentLogger, store }),
      kubeConfig: server.kubeConfig({ token: SA_TOKEN }),
    });
    try {
      // serve opens one watch per collection the functions share (app/cli/watch-plan.ts), plus the Lease's.
      const planned = planWatches(functions).length;
      await until(`${planned} watches`, () => saCalls().filter((c) => c.verb === 'watch' && c.code === 200 && c.resource !== 'leases').length >= planned);
      expect(server.openWatches()).toBeGreaterThanOrEqual(planned);
    } finally {
      await serve.close();
    }
    const watched = new Set(saCalls().filter((c) => c.verb === 'watch').map((c) => callKey(c)));
    expect([...watched].sort()).toEqual(['watch configmaps', 'watch ingresses.networking.k8s.io', 'watch leases.coordination.k8s.io', 'watch pods', 'watch resourcequotas', 'watch services', 'watch sparkapplications.sparkoperator.k8s.io']);
  });

  it('grants the Lease calls of LEASE_ACCESS in sparkfn\'s namespace only, and leader election made each of them', () => {
    const roles = namespacedRoles();
    expect([...new Set(roles.map((r) => r.namespace))]).toEqual(['sparkfn']);
    const needed = LEASE_ACCESS.map((a) => `${a.verb} ${accessResourceName(a)}`).sort();
    expect([...grants({ rules: roles })].sort()).toEqual(needed);
    // The serve above took the Lease (get, create on a fresh apiserver), renewed it (update), watched it and released it (update).
    const leaseCalls = new Set(saCalls().filter((c) => c.resource === 'leases').map((c) => callKey(c)));
    expect([...leaseCalls].sort()).toEqual(needed);
    expect(grants(role).has('get leases.coordination.k8s.io'), 'no Lease rights cluster-wide').toBe(false);
  });

  it('spot-fallback reads, recycles, relabels and evicts executors from the ECI event samples', async () => {
    for (const p of (loadEvent('spot-fallback/data/pods') as { items: KubeObject[] }).items) server.put(p);
    const fn = createSpotFunction({ settings: spotSettings({ evictOnReclaim: true }), cluster: await kubeSpotCluster(server.kubeConfig({ token: SA_TOKEN })) });
    const deps = baseDeps(await tempStore());
    const results: Record<string, SpotCounters> = {};
    for (const fixture of ['no-stock', 'spot-degraded', 'spot-to-be-released']) {
      results[fixture] = (await fn.run(normalizeTrigger(loadEvent(`spot-fallback/${fixture}`)), deps)) as SpotCounters;
    }
    expect(results['no-stock']).toMatchObject({ failed: 0, recycled: 1 });
    expect(results['spot-degraded']).toMatchObject({ failed: 0, relabelled: 1 });
    expect(results['spot-to-be-released']).toMatchObject({ failed: 0, evicted: 1 });
    expect(server.get('pods', SPOT_NS, 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-3')).toBeUndefined();
    expect(server.get('pods', SPOT_NS, 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1')).toBeUndefined();
  });

  it('janitor cleans finished apps with deletecollection, and object by object where it must', async () => {
    const deps = async (): Promise<JanitorDeps> => ({
      store: await tempStore(),
      clock: new ManualClock(NOW),
      logger: silentLogger,
      metrics: new Metrics(),
      kubeConfig: server.kubeConfig({ token: SA_TOKEN }),
    });
    const schedule = { kind: 'schedule' as const, source: 'local', time: NOW };
    const settings = { ...JANITOR_SETTINGS, namespaceTtls: NAMESPACE_TTLS, sparkAppTtl: parseTtl('30m') };

    const scenario = buildScenario({ finished: 20, running: 5, orphans: 4 });
    for (const o of scenario.objects) server.put(o);
    const before = clusterRefs(server);
    const first = await runJanitor(schedule, await deps(), settings);
    expect(first.failed).toBe(0);
    const gone = new Set([...before].filter((r) => !clusterRefs(server).has(r)));
    for (const expected of scenario.expected) expect(gone).toContain(expected);

    // One ConfigMap opts out (the rest of its kind go one by one); Services and Ingresses answer
    // deletecollection with 405, as some clusters do.
    for (const o of appObjects({ namespace: 'spark-jobs', appId: 'spark-rbac-keep', driverPhase: 'Succeeded', finishedAt: NOW - 5 * HOUR, executors: 1, configmaps: 2, services: 1, ingresses: 1, configmapAnnotations: { 'sparkfn.io/keep': 'true' } })) server.put(o);
    server.setDeleteCollectionAllowed('services', false);
    server.setDeleteCollectionAllowed('ingresses', false);
    try {
      const second = await runJanitor(schedule, await deps(), settings);
      expect(second.failed).toBe(0);
      expect(second.fallbacks).toEqual(['ingresses.networking.k8s.io', 'services']);
    } finally {
      server.setDeleteCollectionAllowed('services', true);
      server.setDeleteCollectionAllowed('ingresses', true);
    }
    const left = [...clusterRefs(server)].filter((r) => r.includes('spark-rbac-keep'));
    expect(left).toEqual([ref('ConfigMap', 'spark-jobs', 'spark-rbac-keep-conf-1')]);
  });

  describe('quota-retry', () => {
    const NS = 'spark-quota';
    let deps: QuotaRetryDeps;
    beforeAll(async () => {
      const clock = new ManualClock(Date.UTC(2025, 4, 14, 3, 0, 0));
      deps = {
        store: await tempStore(),
        clock,
        logger: silentLogger,
        metrics: new Metrics(),
        cluster: await createKubeClients(server.kubeConfig({ token: SA_TOKEN })),
        random: seededRandom(108),
        sleep: async (ms) => {
          clock.advance(ms);
          return true;
        },
      };
    });

    it('creates a driver with its ConfigMaps and Services after quota conflicts, and owns them; a re-send creates nothing twice', async () => {
      putQuota(server, NS, { pods: '10', 'requests.cpu': '20', 'requests.memory': '64Gi' });
      const manifest = loadEvent('quota-retry/data/driver-with-dependents') as { items: KubeObject[] };
      for (const item of manifest.items) item.metadata.namespace = NS;
      const error = loadEvent('quota-retry/data/status-conflict-resourcequota');
      server.faults.quotaConflicts({ next: 2 });
      const request = () => webhookRequest({ submissionId: 'rbac-with-deps', namespace: NS, manifest, error });
      expect(bodyOf(await runQuotaRetry(request(), deps, quotaSettings()))).toMatchObject({ outcome: 'admitted' });
      const pod = server.get('pods', NS, 'etl-orders-daily-7d3f9a2b1c8e4f60-driver')!;
      expect(server.get('configmaps', NS, 'spark-drv-7d3f9a2b1c8e4f60-conf-map')!.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: pod.metadata.uid })]);

      // The re-send finds the admitted fact and makes no call; once that fact has expired (a bucket lifecycle rule), it finds every object by name.
      expect(bodyOf(await runQuotaRetry(request(), deps, quotaSettings()))).toMatchObject({ outcome: 'already-created' });
      await deps.store.delete(`queue/admitted/${NS}/rbac-with-deps.json`);
      expect(bodyOf(await runQuotaRetry(request(), deps, quotaSettings()))).toMatchObject({ outcome: 'admitted', summary: { admitted: 0, alreadyCreated: 1 } });
      expect(saCalls().filter((c) => c.verb === 'create' && c.resource === 'pods' && !c.subresource && c.code === 201)).toHaveLength(1);
    });

    it('creates a SparkApplication submission', async () => {
      const app = loadEvent('quota-retry/data/sparkapplication-submission-failed') as KubeObject;
      for (const field of ['uid', 'resourceVersion', 'generation', 'creationTimestamp']) delete (app.metadata as Record<string, unknown>)[field];
      delete app.status;
      app.metadata.name = 'rbac-submitted-app';
      app.metadata.namespace = NS;
      const error = loadEvent('quota-retry/data/status-conflict-resourcequota');
      const result = await runQuotaRetry(webhookRequest({ submissionId: 'rbac-app', namespace: NS, manifest: app, error }), deps, quotaSettings());
      expect(bodyOf(result)).toMatchObject({ outcome: 'admitted' });
      expect(server.get('sparkapplications', NS, 'rbac-submitted-app')).toBeDefined();
    });

    it('queues a SparkApplication stuck in SUBMISSION_FAILED and re-submits it once the quota has room', async () => {
      const sample = loadEvent('quota-retry/data/sparkapplication-submission-failed') as KubeObject;
      const { status } = sample;
      for (const field of ['uid', 'resourceVersion', 'generation']) delete (sample.metadata as Record<string, unknown>)[field];
      delete sample.status;
      // A namespace of its own: janitor's running apps hold quota-free pods in spark-jobs.
      const ns = 'spark-resubmit';
      sample.metadata.namespace = ns;
      putQuota(server, ns, { pods: '1', 'requests.cpu': '4' });
      server.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'busy-driver', namespace: ns, labels: { 'spark-role': 'driver' } }, spec: { containers: [{ name: 'd', image: 'spark', resources: { requests: { cpu: '1' } } }] } });
      server.put(sample);
      const failed = server.updateStatus('sparkapplications', ns, sample.metadata.name, status as Record<string, unknown>);
      const queued = (await runQuotaRetry({ kind: 'k8s-objects', source: 'k8s:watch', changes: [{ type: 'MODIFIED', object: failed as never }] }, deps, quotaSettings())) as QuotaRetrySummary;
      expect(queued).toMatchObject({ queued: 1 });
      server.setPodPhase(ns, 'busy-driver', 'Succeeded');
      const drained = (await runQuotaRetry({ kind: 'schedule', source: 'local', time: deps.clock.now() }, deps, quotaSettings())) as QuotaRetrySummary;
      expect(drained).toMatchObject({ admitted: 1 });
      const after = server.get('sparkapplications', ns, sample.metadata.name)! as KubeObject & { spec: { driver: { annotations: Record<string, string> } } };
      expect(after.spec.driver.annotations[RESUBMIT_ANNOTATION]).toMatch(/^[0-9a-f]{12}$/);
    });
  });

  it('log-viewer finds an executor pod and follows its log until the pod ends', async () => {
    const { run: runViewer } = await import('../../functions/log-viewer/handler.js');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'rbac-exec-1', namespace: 'spark-jobs', labels: { 'spark-app-selector': 'spark-rbac-live', 'spark-exec-id': '1', 'spark-role': 'executor' } }, spec: { containers: [{ name: 'spark-kubernetes-executor', image: 'spark' }] }, status: { phase: 'Running' } };
    server.put(pod);
    server.podLogs.append('spark-jobs', 'rbac-exec-1', 'spark-kubernetes-executor', ['live line']);
    const deps = { ...createDeps(loadConfig({}), { logger: silentLogger, store: await tempStore() }), cluster: await createKubeClients(server.kubeConfig({ token: SA_TOKEN })) };
    const result = await runViewer({ kind: 'http', source: 'sparkfn-serve', method: 'GET', path: '/logs/spark-rbac-live/1/stderr', query: { follow: '1' }, headers: {}, body: Buffer.alloc(0) }, deps);
    expect(result.headers?.['x-sparkfn-log-source']).toBe('live');
    const pieces: Buffer[] = [];
    const body = result.body as AsyncIterable<Buffer>;
    const reading = (async () => {
      for await (const piece of body) pieces.push(piece);
    })();
    await until('the follow stream', () => server.podLogs.openFollows === 1);
    server.setPodPhase('spark-jobs', 'rbac-exec-1', 'Succeeded');
    await reading;
    expect(Buffer.concat(pieces).toString()).toBe('live line\n');
  });

  it('allows every call the functions made and has no rule that nothing used', () => {
    const calls = saCalls();
    const made = new Map<string, number>();
    for (const c of calls) made.set(callKey(c), (made.get(callKey(c)) ?? 0) + 1);
    const granted = new Set([...grants(role), ...grants({ rules: namespacedRoles() })]);
    // The table the issue asks for: what the functions called, how often, and whether the role allows it.
    console.log(
      ['verb resource                                      calls  allowed', ...[...new Set([...made.keys(), ...granted])].sort().map((k) => `${k.padEnd(48)} ${String(made.get(k) ?? 0).padStart(5)}  ${granted.has(k) ? 'yes' : 'NO'}`)].join('\n'),
    );
    const denied = calls.filter((c) => c.code === 403).map((c) => `${callKey(c)} → 403`);
    const notGranted = [...made.keys()].filter((k) => !granted.has(k));
    const unused = [...granted].filter((k) => !made.has(k));
    expect({ denied, notGranted, unused }).toEqual({ denied: [], notGranted: [], unused: [] });
  });
});
