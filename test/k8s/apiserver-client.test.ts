import { ApiException, CoreV1Api, CustomObjectsApi, NetworkingV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchOptions } from '../../shared/k8s/patch-options.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

function pod(name: string, labels: Record<string, string> = {}, cpu?: string): V1Pod {
  return {
    metadata: { name, labels },
    spec: { containers: [{ name: 'main', image: 'spark:3.5', ...(cpu ? { resources: { requests: { cpu } } } : {}) }] },
  };
}

/** The ApiException a client-node call rejected with, with its body parsed. */
async function failure(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException<string>;
    return { code: e.code, body: JSON.parse(e.body) as Record<string, unknown>, headers: e.headers };
  }
  throw new Error('expected the call to fail');
}

describe('test apiserver through an unmodified @kubernetes/client-node', () => {
  let server: TestApiserver;
  let core: CoreV1Api;
  let counter = 0;
  const ns = () => `client-${++counter}`;

  beforeAll(async () => {
    server = await startTestApiserver();
    core = server.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('lists with a label selector, page by page, with one consistent resourceVersion', async () => {
    const namespace = ns();
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedPod({ namespace, body: pod(`exec-${i}`, { app: 'etl', 'spark-role': i === 0 ? 'driver' : 'executor' }) });
    }
    await core.createNamespacedPod({ namespace, body: pod('other', { app: 'web' }) });
    const names: string[] = [];
    const versions = new Set<string>();
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=etl,spark-role in (executor)', limit: 2, _continue: token });
      names.push(...list.items.map((p) => p.metadata!.name!));
      versions.add(list.metadata!.resourceVersion!);
      if (page === 0) await core.createNamespacedPod({ namespace, body: pod('exec-9', { app: 'etl', 'spark-role': 'executor' }) });
      token = list.metadata?._continue;
      if (!token) break;
    }
    expect(names).toEqual(['exec-1', 'exec-2', 'exec-3', 'exec-4', 'exec-5', 'exec-6']);
    expect(versions.size).toBe(1);
  });

  it.each([
    ['spark-role!=driver', ['a', 'c', 'd']],
    ['spark-role notin (driver,executor)', ['c', 'd']],
    ['spark-role', ['a', 'b']],
    ['!spark-role', ['c', 'd']],
    ['tier==gold,spark-role=executor', ['a']],
    ['size>3', ['d']],
  ])('selects pods with labelSelector %s', async (selector, expected) => {
    const namespace = ns();
    await core.createNamespacedPod({ namespace, body: pod('a', { 'spark-role': 'executor', tier: 'gold' }) });
    await core.createNamespacedPod({ namespace, body: pod('b', { 'spark-role': 'driver' }) });
    await core.createNamespacedPod({ namespace, body: pod('c', { tier: 'gold', size: '2' }) });
    await core.createNamespacedPod({ namespace, body: pod('d', { size: '5' }) });
    const list = await core.listNamespacedPod({ namespace, labelSelector: selector });
    expect(list.items.map((p) => p.metadata!.name)).toEqual(expected);
  });

  it('filters by status.phase across namespaces and refuses unsupported field selectors with 400', async () => {
    const a = ns();
    const b = ns();
    await core.createNamespacedPod({ namespace: a, body: pod('run') });
    await core.createNamespacedPod({ namespace: b, body: pod('run') });
    await core.createNamespacedPod({ namespace: b, body: pod('wait') });
    server.setPodPhase(a, 'run', 'Running');
    server.setPodPhase(b, 'run', 'Running');
    const running = await core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running' });
    const mine = running.items.filter((p) => [a, b].includes(p.metadata!.namespace!));
    expect(mine.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`)).toEqual([`${a}/run`, `${b}/run`]);
    const bad = await failure(core.listNamespacedPod({ namespace: a, fieldSelector: 'spec.containers=x' }));
    expect(bad.code).toBe(400);
    expect(bad.body.message).toBe('field label not supported: spec.containers');
  });

  it('creates with generateName, filling uid, namespace, creationTimestamp, resourceVersion and a Pending status', async () => {
    const namespace = ns();
    const created = await core.createNamespacedPod({ namespace, body: { ...pod(''), metadata: { generateName: 'spark-exec-' } } });
    expect(created.metadata!.name).toMatch(/^spark-exec-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(created.metadata!.namespace).toBe(namespace);
    expect(created.metadata!.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata!.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(created.metadata!.resourceVersion)).toBe(Number(server.resourceVersion()));
    expect(created.status?.phase).toBe('Pending');
    const again = await core.createNamespacedPod({ namespace, body: { ...pod(''), metadata: { generateName: 'spark-exec-' } } });
    expect(again.metadata!.name).not.toBe(created.metadata!.name);
  });

  it('answers a second create of the same name with 409 AlreadyExists', async () => {
    const namespace = ns();
    await core.createNamespacedPod({ namespace, body: pod('driver') });
    const err = await failure(core.createNamespacedPod({ namespace, body: pod('driver') }));
    expect(err.code).toBe(409);
    expect(err.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "driver" already exists',
      reason: 'AlreadyExists',
      details: { name: 'driver', kind: 'pods' },
      code: 409,
    });
  });

  it('answers 403 exceeded quota, which wins over AlreadyExists', async () => {
    const namespace = ns();
    await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name: 'team' }, spec: { hard: { 'requests.cpu': '1', pods: '5' } } } });
    await core.createNamespacedPod({ namespace, body: pod('driver', {}, '600m') });
    const exceeded = await failure(core.createNamespacedPod({ namespace, body: pod('exec-1', {}, '0.5') }));
    expect(exceeded.code).toBe(403);
    expect(exceeded.body.message).toBe(
      'pods "exec-1" is forbidden: exceeded quota: team, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1',
    );
    expect(exceeded.body.details).toEqual({ name: 'exec-1', kind: 'pods' });
    const retried = await failure(core.createNamespacedPod({ namespace, body: pod('driver', {}, '600m') }));
    expect(retried.code).toBe(403);
    expect(retried.body.reason).toBe('Forbidden');
  });

  it('injects 409 Conflict on the ResourceQuota for the next creates, then admits', async () => {
    const namespace = ns();
    await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name: 'compute' }, spec: { hard: { pods: '10' } } } });
    server.faults.quotaConflicts({ next: 2 });
    for (let i = 0; i < 2; i++) {
      const err = await failure(core.createNamespacedPod({ namespace, body: pod('driver') }));
      expect(err.code).toBe(409);
      expect(err.body.message).toBe(
        'Operation cannot be fulfilled on resourcequotas "compute": the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    const created = await core.createNamespacedPod({ namespace, body: pod('driver') });
    expect(created.metadata!.name).toBe('driver');
  });

  it('injects quota conflicts with a seeded probability, the same on every run', async () => {
    const outcomes = async (seed: number) => {
      const local = await startTestApiserver({ seed });
      try {
        const api = local.kubeConfig().makeApiClient(CoreV1Api);
        await api.createNamespacedResourceQuota({ namespace: 'q', body: { metadata: { name: 'compute' }, spec: { hard: { pods: '100' } } } });
        local.faults.quotaConflicts({ probability: 0.5 });
        const result: number[] = [];
        for (let i = 0; i < 20; i++) {
          result.push(await api.createNamespacedPod({ namespace: 'q', body: pod(`p${i}`) }).then(() => 201, (e: ApiException<string>) => e.code));
        }
        return result;
      } finally {
        await local.stop();
      }
    };
    const first = await outcomes(42);
    expect(await outcomes(42)).toEqual(first);
    expect(first.filter((c) => c === 409).length).toBeGreaterThan(2);
    expect(first.filter((c) => c === 201).length).toBeGreaterThan(2);
  });

  it('applies a merge patch when asked through patchOptions, and a JSON patch by default', async () => {
    const namespace = ns();
    await core.createNamespacedPod({ namespace, body: pod('driver', { app: 'etl', old: 'x' }) });
    const merged = await core.patchNamespacedPod(
      { name: 'driver', namespace, body: { metadata: { labels: { 'sparkfn/janitor': 'keep', old: null } } } },
      await patchOptions('merge'),
    );
    expect(merged.metadata!.labels).toEqual({ app: 'etl', 'sparkfn/janitor': 'keep' });
    const asJsonPatch = await failure(core.patchNamespacedPod({ name: 'driver', namespace, body: { metadata: { labels: { a: 'b' } } } }));
    expect(asJsonPatch.code).toBe(400);
    const patched = await core.patchNamespacedPod({
      name: 'driver',
      namespace,
      body: [
        { op: 'test', path: '/metadata/labels/app', value: 'etl' },
        { op: 'add', path: '/metadata/annotations', value: { 'sparkfn/cost': '1.5' } },
        { op: 'replace', path: '/metadata/labels/app', value: 'etl-2' },
      ],
    });
    expect(patched.metadata!.labels!.app).toBe('etl-2');
    expect(patched.metadata!.annotations).toEqual({ 'sparkfn/cost': '1.5' });
    const failedTest = await failure(
      core.patchNamespacedPod({ name: 'driver', namespace, body: [{ op: 'test', path: '/metadata/labels/app', value: 'etl' }] }),
    );
    expect(failedTest.code).toBe(422);
    const strategic = await core.patchNamespacedPod(
      { name: 'driver', namespace, body: { metadata: { labels: { tier: 'gold' } } } },
      await patchOptions('strategic'),
    );
    expect(strategic.metadata!.labels!.tier).toBe('gold');
  });

  it('keeps status out of main-resource writes and spec out of /status writes', async () => {
    const namespace = ns();
    await core.createNamespacedPod({ namespace, body: pod('driver') });
    const viaMain = await core.patchNamespacedPod({ name: 'driver', namespace, body: { status: { phase: 'Running' } } }, await patchOptions('merge'));
    expect(viaMain.status!.phase).toBe('Pending');
    const viaStatus = await core.patchNamespacedPodStatus(
      { name: 'driver', namespace, body: { status: { phase: 'Running' }, metadata: { labels: { sneaky: 'yes' } } } },
      await patchOptions('merge'),
    );
    expect(viaStatus.status!.phase).toBe('Running');
    expect(viaStatus.metadata!.labels).toEqual({});
    const immutable = await failure(
      core.patchNamespacedPod({ name: 'driver', namespace, body: { spec: { nodeSelector: { zone: 'b' } } } }, await patchOptions('merge')),
    );
    expect(immutable.code).toBe(422);
    expect(String(immutable.body.message)).toContain('pod updates may not change fields');
  });

  it('answers 409 Conflict to an update with a stale resourceVersion, and not to a fresh one', async () => {
    const namespace = ns();
    const cm = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'spark-conf' }, data: { a: '1' } } });
    const updated = await core.replaceNamespacedConfigMap({ name: 'spark-conf', namespace, body: { ...cm, data: { a: '2' } } });
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(Number(cm.metadata!.resourceVersion));
    const stale = await failure(core.replaceNamespacedConfigMap({ name: 'spark-conf', namespace, body: { ...cm, data: { a: '3' } } }));
    expect(stale.code).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
    const unchanged = await core.replaceNamespacedConfigMap({ name: 'spark-conf', namespace, body: updated });
    expect(unchanged.metadata!.resourceVersion).toBe(updated.metadata!.resourceVersion);
  });

  it('deletes one object with its body, and a collection by selector answering the deleted list', async () => {
    const namespace = ns();
    for (const name of ['a', 'b', 'c']) {
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { app: name === 'c' ? 'keep' : 'spark-1' } } } });
    }
    await core.createNamespacedPod({ namespace, body: pod('driver') });
    const deletedPod = await core.deleteNamespacedPod({ name: 'driver', namespace, propagationPolicy: 'Background' });
    expect(deletedPod.metadata!.name).toBe('driver');
    const missing = await failure(core.deleteNamespacedPod({ name: 'driver', namespace }));
    expect(missing.code).toBe(404);
    expect(missing.body.message).toBe('pods "driver" not found');

    const res = await fetch(`${server.url}/api/v1/namespaces/${namespace}/configmaps?labelSelector=app%3Dspark-1`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${server.token}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { kind: string; items: { metadata: { name: string } }[] };
    expect(body.kind).toBe('ConfigMapList');
    expect(body.items.map((i) => i.metadata.name)).toEqual(['a', 'b']);
    const left = await core.listNamespacedConfigMap({ namespace });
    expect(left.items.map((i) => i.metadata!.name)).toEqual(['c']);
  });

  it('answers deletecollection with 405 for a resource switched off, so callers fall back to single deletes', async () => {
    const namespace = ns();
    await core.createNamespacedService({ namespace, body: { metadata: { name: 'spark-ui', labels: { app: 'x' } }, spec: { ports: [{ port: 4040 }] } } });
    server.setDeleteCollectionAllowed('services', false);
    try {
      const err = await failure(core.deleteCollectionNamespacedService({ namespace, labelSelector: 'app=x' }));
      expect(err.code).toBe(405);
      expect(err.body.reason).toBe('MethodNotAllowed');
    } finally {
      server.setDeleteCollectionAllowed('services', true);
    }
    await core.deleteCollectionNamespacedService({ namespace, labelSelector: 'app=x' });
    expect((await core.listNamespacedService({ namespace })).items).toEqual([]);
  });

  it('serves ingresses and SparkApplications (a custom resource)', async () => {
    const namespace = ns();
    const kc = server.kubeConfig();
    const networking = kc.makeApiClient(NetworkingV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await networking.createNamespacedIngress({ namespace, body: { metadata: { name: 'spark-ui', labels: { app: 'etl' } }, spec: {} } });
    expect((await networking.listNamespacedIngress({ namespace, labelSelector: 'app=etl' })).items).toHaveLength(1);
    const group = 'sparkoperator.k8s.io';
    const app = {
      apiVersion: `${group}/v1beta2`,
      kind: 'SparkApplication',
      metadata: { name: 'etl' },
      spec: { type: 'Scala', mode: 'cluster' },
      status: { applicationState: { state: 'COMPLETED' } },
    };
    const created = (await custom.createNamespacedCustomObject({ group, version: 'v1beta2', namespace, plural: 'sparkapplications', body: app })) as typeof app & {
      metadata: { generation: number };
    };
    expect(created.status).toBeUndefined();
    expect(created.metadata.generation).toBe(1);
    const list = (await custom.listNamespacedCustomObject({ group, version: 'v1beta2', namespace, plural: 'sparkapplications' })) as {
      items: { kind: string }[];
    };
    expect(list.items[0]!.kind).toBe('SparkApplication');
    const missing = await failure(custom.getNamespacedCustomObject({ group, version: 'v1beta2', namespace, plural: 'sparkapplications', name: 'nope' }));
    expect(missing.body.message).toBe('sparkapplications.sparkoperator.k8s.io "nope" not found');
    expect(missing.body.details).toEqual({ name: 'nope', group, kind: 'sparkapplications' });
  });

  it('lists an Exact past resourceVersion until history is compacted, then answers 410', async () => {
    const namespace = ns();
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'one' } } });
    const rv = server.resourceVersion();
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'two' } } });
    await core.deleteNamespacedConfigMap({ name: 'one', namespace });
    const past = await core.listNamespacedConfigMap({ namespace, resourceVersion: rv, resourceVersionMatch: 'Exact' });
    expect(past.items.map((i) => i.metadata!.name)).toEqual(['one']);
    expect(past.metadata!.resourceVersion).toBe(rv);
    server.compact();
    const gone = await failure(core.listNamespacedConfigMap({ namespace, resourceVersion: rv, resourceVersionMatch: 'Exact' }));
    expect(gone.code).toBe(410);
  });

  it('denies what an RBAC-limited user was not granted, and allows what it was', async () => {
    const namespace = ns();
    server.addUser('janitor-token', 'system:serviceaccount:sparkfn:janitor', [
      { verbs: ['list', 'deletecollection'], apiGroups: [''], resources: ['configmaps'], namespaces: [namespace] },
    ]);
    const janitor = server.kubeConfig({ token: 'janitor-token' }).makeApiClient(CoreV1Api);
    await janitor.listNamespacedConfigMap({ namespace });
    const denied = await failure(janitor.deleteNamespacedConfigMap({ name: 'x', namespace }));
    expect(denied.code).toBe(403);
    expect(denied.body.message).toBe(
      `configmaps "x" is forbidden: User "system:serviceaccount:sparkfn:janitor" cannot delete resource "configmaps" in API group "" in the namespace "${namespace}"`,
    );
    expect(server.calls.at(-1)).toMatchObject({ verb: 'delete', resource: 'configmaps', user: 'system:serviceaccount:sparkfn:janitor', code: 403 });
  });

  it('answers discovery and /version', async () => {
    const get = async (path: string) =>
      (await fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${server.token}` } }).then((r) => r.json())) as Record<string, unknown>;
    expect((await get('/version')).gitVersion).toBe('v1.32.0');
    expect((await get('/api')).versions).toEqual(['v1']);
    const groups = (await get('/apis')).groups as { name: string }[];
    expect(groups.map((g) => g.name)).toEqual(['networking.k8s.io', 'sparkoperator.k8s.io', 'coordination.k8s.io']);
    const core = (await get('/api/v1')).resources as { name: string }[];
    expect(core.map((r) => r.name)).toContain('pods/status');
  });

  it('serves TLS with a generated certificate that a KubeConfig with its CA trusts', async () => {
    const secure = await startTestApiserver({ tls: true });
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const api = secure.kubeConfig().makeApiClient(CoreV1Api);
      await api.createNamespacedConfigMap({ namespace: 'tls', body: { metadata: { name: 'x' } } });
      expect((await api.listNamespacedConfigMap({ namespace: 'tls' })).items).toHaveLength(1);
      const untrusting = secure.kubeConfig();
      untrusting.clusters = untrusting.clusters.map((c) => ({ ...c, caData: undefined }));
      await expect(untrusting.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'tls' })).rejects.toThrow(/certificate/);
    } finally {
      await secure.stop();
    }
  });
});
