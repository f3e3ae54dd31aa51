import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanUp } from '../../functions/janitor/clean-up.js';
import { run } from '../../functions/janitor/handler.js';
import type { AuditRecord } from '../../functions/janitor/audit.js';
import type { JanitorSettings } from '../../functions/janitor/settings.js';
import { getBuffer } from '../../shared/store/read.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { appObjects, clusterRefs, HOUR, janitorDeps, NOW, ref, TEST_SETTINGS } from './cluster.js';
import { buildScenario, NAMESPACE_TTLS } from './scenario.js';

const SETTINGS: JanitorSettings = { ...TEST_SETTINGS, namespaceTtls: NAMESPACE_TTLS };
const schedule = { kind: 'schedule' as const, source: 'local', time: NOW };

let server: TestApiserver;
const cleanups: (() => Promise<void>)[] = [];

async function depsFor(token?: string) {
  const made = await janitorDeps(server, token ? { token } : {});
  cleanups.push(made.cleanup);
  return made.deps;
}

async function readAudit(deps: Awaited<ReturnType<typeof depsFor>>, key: string | undefined): Promise<AuditRecord> {
  expect(key).toBeDefined();
  return JSON.parse((await getBuffer(deps.store, key!)).toString('utf8')) as AuditRecord;
}

/** `namespace/appId kind` → names, for comparing what two runs did. */
function deletions(audit: AuditRecord): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const app of audit.apps) for (const kind of app.kinds) if (kind.deleted.length > 0) out[`${app.namespace}/${app.appId} ${kind.kind}`] = kind.deleted;
  return out;
}

function load(scenario: ReturnType<typeof buildScenario>) {
  for (const o of scenario.objects) server.put(o);
}

beforeAll(async () => {
  server = await startTestApiserver();
});
afterEach(async () => {
  for (const remove of ['pods', 'configmaps', 'services', 'ingresses', 'sparkapplications.sparkoperator.k8s.io']) {
    for (const o of server.list(remove)) server.remove(remove, o.metadata.namespace, o.metadata.name);
  }
  server.resetCalls();
  server.setDeleteCollectionAllowed('services', true);
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
afterAll(async () => {
  await server.stop();
});

describe('janitor', () => {
  it('deletes exactly the expired apps’ objects out of 200 finished, 50 running and 20 orphaned apps, and nothing on a second run', async () => {
    const scenario = buildScenario({ finished: 200, running: 50, orphans: 20 });
    load(scenario);
    const before = clusterRefs(server);
    const deps = await depsFor();

    const summary = await run(schedule, deps, SETTINGS);

    const after = clusterRefs(server);
    const gone = [...before].filter((r) => !after.has(r));
    expect(new Set(gone)).toEqual(scenario.expected);
    expect([...after].filter((r) => !before.has(r))).toEqual([]);
    expect(summary).toMatchObject({ dryRun: false, running: 50, invalid: scenario.invalidApps, cleaned: scenario.expiredApps, failed: 0, deferred: 0, deleted: scenario.expected.size, errors: 0 });
    expect(summary.optedOut).toBe(20);
    // One deletecollection per kind the app has, never more than five per app.
    expect(server.countCalls({ verb: 'deletecollection' })).toBeLessThanOrEqual(5 * scenario.expiredApps);
    expect(server.countCalls({ verb: 'delete' })).toBe(0);
    const audit = await readAudit(deps, summary.auditKey);
    expect(summary.auditKey).toMatch(/^audit\/janitor\/dt=2026-01-10\/20260110T120000Z-[0-9a-f]{8}\.json$/);
    expect(audit.apps).toHaveLength(scenario.expiredApps);
    expect(audit.skipped.map((s) => s.what).sort()).toEqual(['app spark-dev/spark-bad-unit', 'app spark-jobs/spark-bad-keep', 'app spark-jobs/spark-bad-ttl']);
    expect(audit.skipped.find((s) => s.what.endsWith('spark-bad-ttl'))!.reason).toMatch(/"soon" is not a TTL/);
    expect(await deps.metrics.text()).toMatch(/sparkfn_janitor_objects_deleted_total\{kind="executor-pods",dry_run="false"\} \d+/);

    server.resetCalls();
    const second = await run(schedule, deps, SETTINGS);
    expect(second).toMatchObject({ deleted: 0, cleaned: 0, due: 0 });
    expect(server.countCalls({ verb: 'deletecollection' }) + server.countCalls({ verb: 'delete' })).toBe(0);
    expect(clusterRefs(server)).toEqual(after);
  });

  it('in a dry run deletes nothing, and audits exactly what the real run then deletes', async () => {
    const scenario = buildScenario({ finished: 40, running: 10, orphans: 8 });
    load(scenario);
    const before = clusterRefs(server);
    const deps = await depsFor();

    const dry = await run(schedule, deps, { ...SETTINGS, dryRun: true });
    expect(clusterRefs(server)).toEqual(before);
    expect(server.countCalls({ verb: 'deletecollection' }) + server.countCalls({ verb: 'delete' })).toBe(0);
    expect(dry).toMatchObject({ dryRun: true, deleted: scenario.expected.size, cleaned: scenario.expiredApps });

    const real = await run(schedule, deps, SETTINGS);
    const dryAudit = await readAudit(deps, dry.auditKey);
    const realAudit = await readAudit(deps, real.auditKey);
    expect(dryAudit.dryRun).toBe(true);
    expect(Object.keys(deletions(realAudit)).length).toBeGreaterThan(0);
    expect(deletions(dryAudit)).toEqual(deletions(realAudit));
    expect(realAudit.apps.every((a) => a.kinds.every((k) => k.method === 'deletecollection'))).toBe(true);
  });

  it('a timer payload can ask for a dry run, but cannot turn one off', async () => {
    load(buildScenario({ finished: 10, running: 0, orphans: 0 }));
    const before = clusterRefs(server);
    const deps = await depsFor();
    const summary = await run({ ...schedule, payload: '{"dryRun":true}' }, deps, SETTINGS);
    expect(summary.dryRun).toBe(true);
    expect(clusterRefs(server)).toEqual(before);
    expect((await run({ ...schedule, payload: '{"dryRun":false}' }, deps, { ...SETTINGS, dryRun: true })).dryRun).toBe(true);
    expect(clusterRefs(server)).toEqual(before);
  });

  it('with deletecollection forbidden by RBAC, reaches the same end state by per-object deletes and says so once per resource', async () => {
    const scenario = buildScenario({ finished: 30, running: 10, orphans: 8 });
    load(scenario);
    const before = clusterRefs(server);
    const resources = ['pods', 'configmaps', 'services', 'ingresses', 'sparkapplications'];
    server.addUser('janitor-token', 'system:serviceaccount:sparkfn:janitor', [
      { verbs: ['list', 'delete'], apiGroups: ['', 'networking.k8s.io', 'sparkoperator.k8s.io'], resources },
    ]);
    const deps = await depsFor('janitor-token');

    const summary = await run(schedule, deps, SETTINGS);

    const gone = [...before].filter((r) => !clusterRefs(server).has(r));
    expect(new Set(gone)).toEqual(scenario.expected);
    expect(summary).toMatchObject({ cleaned: scenario.expiredApps, failed: 0, deleted: scenario.expected.size });
    expect(summary.fallbacks).toEqual(['configmaps', 'ingresses.networking.k8s.io', 'pods', 'services']);
    const refused = server.calls.filter((c) => c.verb === 'deletecollection');
    expect(refused.every((c) => c.code === 403)).toBe(true);
    expect(refused).toHaveLength(4);
    expect(server.countCalls({ verb: 'delete', code: 200 })).toBe(scenario.expected.size);
  });

  it('falls back to per-object deletes for Services where deletecollection answers 405, and keeps deletecollection for the rest', async () => {
    const scenario = buildScenario({ finished: 20, running: 5, orphans: 4 });
    load(scenario);
    const before = clusterRefs(server);
    server.setDeleteCollectionAllowed('services', false);
    const deps = await depsFor();

    const summary = await run(schedule, deps, SETTINGS);

    expect(new Set([...before].filter((r) => !clusterRefs(server).has(r)))).toEqual(scenario.expected);
    expect(summary.fallbacks).toEqual(['services']);
    expect(server.calls.filter((c) => c.verb === 'deletecollection' && c.code === 405)).toHaveLength(1);
    expect(server.calls.filter((c) => c.verb === 'delete').every((c) => c.resource === 'services')).toBe(true);
  });

  it('keeps an object that opts out by itself and deletes the rest of its kind one by one', async () => {
    for (const o of appObjects({ namespace: 'spark-jobs', appId: 'spark-keep-one', driverPhase: 'Succeeded', finishedAt: NOW - 5 * HOUR, executors: 2, configmaps: 3, configmapAnnotations: { 'sparkfn.io/keep': 'true' } })) server.put(o);
    const deps = await depsFor();
    const summary = await run(schedule, deps, SETTINGS);
    expect(summary.failed).toBe(0);
    expect([...clusterRefs(server)]).toEqual([ref('ConfigMap', 'spark-jobs', 'spark-keep-one-conf-1')]);
    expect(server.countCalls({ verb: 'delete', resource: 'configmaps' })).toBe(2);
  });

  it('cleans at most maxApps apps per run, oldest first, and the next run takes the rest', async () => {
    for (let i = 0; i < 6; i++) for (const o of appObjects({ namespace: 'spark-jobs', appId: `spark-lim-${i}`, driverPhase: 'Succeeded', finishedAt: NOW - (10 + i) * HOUR, executors: 1 })) server.put(o);
    const deps = await depsFor();
    const first = await run(schedule, deps, { ...SETTINGS, maxApps: 4 });
    expect(first).toMatchObject({ due: 6, cleaned: 4, deferred: 2, stoppedEarly: false });
    expect(server.list('pods').map((p) => p.metadata.name).sort()).toEqual(['spark-lim-0-driver', 'spark-lim-0-exec-1', 'spark-lim-1-driver', 'spark-lim-1-exec-1']);
    const second = await run(schedule, deps, { ...SETTINGS, maxApps: 4 });
    expect(second).toMatchObject({ due: 2, cleaned: 2, deferred: 0 });
    expect(server.list('pods')).toEqual([]);
  });

  it('stops cleanly when its deadline has passed: nothing deleted, everything deferred, the audit written', async () => {
    load(buildScenario({ finished: 10, running: 2, orphans: 0 }));
    const before = clusterRefs(server);
    const deadline = new AbortController();
    deadline.abort();
    const made = await janitorDeps(server, { signal: deadline.signal });
    cleanups.push(made.cleanup);
    const summary = await run(schedule, made.deps, SETTINGS);
    expect(summary).toMatchObject({ stoppedEarly: true, cleaned: 0, deleted: 0 });
    expect(summary.deferred).toBe(summary.due);
    expect(summary.due).toBeGreaterThan(0);
    expect(clusterRefs(server)).toEqual(before);
    expect((await readAudit(made.deps, summary.auditKey)).apps).toEqual([]);
  });

  it('keeps to the namespaces it is given, and never enters an excluded one', async () => {
    const scenario = buildScenario({ finished: 20, running: 0, orphans: 0 });
    load(scenario);
    const deps = await depsFor();
    await run(schedule, deps, { ...SETTINGS, namespaces: ['spark-dev', 'kube-system'] });
    expect(server.calls.some((c) => c.namespace === 'kube-system' || c.namespace === 'spark-jobs')).toBe(false);
    const left = clusterRefs(server);
    for (const r of scenario.expected) expect(left.has(r)).toBe(!r.includes(' spark-dev/'));
  });

  it('reports a failed deletecollection, keeps that app’s driver, and goes on with the other apps', async () => {
    for (const appId of ['spark-fail-a', 'spark-fail-b']) for (const o of appObjects({ namespace: 'spark-jobs', appId, driverPhase: 'Succeeded', finishedAt: NOW - 5 * HOUR, executors: 1, configmaps: 1 })) server.put(o);
    server.faults.internalError(3, { verb: 'deletecollection', resource: 'configmaps' });
    const deps = await depsFor();
    const summary = await run(schedule, deps, SETTINGS);
    expect(summary).toMatchObject({ cleaned: 1, failed: 1, errors: 1 });
    // The failed app's executors went, its ConfigMap and driver stayed: the next run finds it again.
    expect(server.list('pods').map((p) => p.metadata.name)).toEqual(['spark-fail-a-driver']);
    const again = await run(schedule, deps, SETTINGS);
    expect(again).toMatchObject({ cleaned: 1, failed: 0 });
    expect(clusterRefs(server).size).toBe(0);
  });

  it('does not take a labelled object without its driver for an orphan when SparkApplications cannot be read', async () => {
    for (const o of appObjects({ namespace: 'spark-jobs', appId: 'spark-maybe-orphan', executors: 1, configmaps: 1, createdAt: NOW - 10 * HOUR })) server.put(o);
    server.addUser('no-crd-token', 'janitor', [{ verbs: ['list', 'delete', 'deletecollection'], apiGroups: ['', 'networking.k8s.io'], resources: ['pods', 'configmaps', 'services', 'ingresses'] }]);
    const deps = await depsFor('no-crd-token');
    const summary = await run(schedule, deps, SETTINGS);
    expect(summary).toMatchObject({ orphaned: 1, due: 0, deleted: 0, errors: 1 });
    expect(clusterRefs(server).size).toBe(2);
  });

  it('refuses a trigger that is not a schedule', async () => {
    const deps = await depsFor();
    await expect(run({ kind: 'http', source: 'local', method: 'GET', path: '/', query: {}, headers: {}, body: Buffer.alloc(0) }, deps, SETTINGS)).rejects.toThrow(/runs on a schedule/);
  });

  it('returns the full audit to the CLI through cleanUp', async () => {
    load(buildScenario({ finished: 10, running: 0, orphans: 0 }));
    const deps = await depsFor();
    const report = await cleanUp(deps, { ...SETTINGS, dryRun: true });
    expect(report.audit.apps.length).toBe(report.summary.cleaned);
    expect(report.audit.counts.deleted).toBe(report.summary.deleted);
  });
});
