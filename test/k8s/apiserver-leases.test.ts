import { ApiException, CoordinationV1Api, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces';

function lease(name: string, spec: Record<string, unknown> = {}): V1Lease {
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, ...spec } };
}

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: unknown }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) return { code: err.code, body: JSON.parse(String(err.body)) };
    throw err;
  }
  throw new Error('The request succeeded; a failure was expected.');
}

describe('test apiserver: coordination.k8s.io/v1 Leases', () => {
  let server: TestApiserver;
  let api: CoordinationV1Api;
  let counter = 0;
  const ns = () => `leases-${++counter}`;

  beforeAll(async () => {
    server = await startTestApiserver();
    api = server.kubeConfig().makeApiClient(CoordinationV1Api);
  });
  afterAll(async () => server.stop());

  it('creates, gets, lists and updates a Lease, bumping resourceVersion on each write', async () => {
    const namespace = ns();
    const created = await api.createNamespacedLease({ namespace, body: lease('sparkfn') });
    expect(created.kind).toBe('Lease');
    expect(created.apiVersion).toBe('coordination.k8s.io/v1');
    expect(created.metadata?.namespace).toBe(namespace);
    const read = await api.readNamespacedLease({ namespace, name: 'sparkfn' });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    read.spec!.holderIdentity = 'b';
    read.spec!.leaseTransitions = 1;
    const updated = await api.replaceNamespacedLease({ namespace, name: 'sparkfn', body: read });
    expect(updated.spec?.holderIdentity).toBe('b');
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    const list = await api.listNamespacedLease({ namespace });
    expect(list.items.map((l) => l.spec?.holderIdentity)).toEqual(['b']);
  });

  it('answers a stale resourceVersion with 409 Conflict worded as kube-apiserver words it', async () => {
    const namespace = ns();
    const created = await api.createNamespacedLease({ namespace, body: lease('stale') });
    await api.replaceNamespacedLease({ namespace, name: 'stale', body: { ...created, spec: { ...created.spec, holderIdentity: 'b' } } });
    const res = await fetch(`${server.url}${LEASES}/${namespace}/leases/stale`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...created, spec: { ...created.spec, holderIdentity: 'c' } }),
    });
    expect(res.status).toBe(409);
    expect(await res.text()).toBe(
      `${JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'Operation cannot be fulfilled on leases.coordination.k8s.io "stale": the object has been modified; please apply your changes to the latest version and try again',
        reason: 'Conflict',
        details: { name: 'stale', group: 'coordination.k8s.io', kind: 'leases' },
        code: 409,
      })}\n`,
    );
    expect((await api.readNamespacedLease({ namespace, name: 'stale' })).spec?.holderIdentity).toBe('b');
  });

  it('lets exactly one of two creates of the same Lease win (409 AlreadyExists for the other)', async () => {
    const namespace = ns();
    const results = await Promise.allSettled([
      api.createNamespacedLease({ namespace, body: lease('race', { holderIdentity: 'a' }) }),
      api.createNamespacedLease({ namespace, body: lease('race', { holderIdentity: 'b' }) }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((lost.reason as ApiException<string>).code).toBe(409);
    expect(JSON.parse(String((lost.reason as ApiException<string>).body)).message).toBe('leases.coordination.k8s.io "race" already exists');
  });

  it('refuses an update without resourceVersion, as AllowUnconditionalUpdate is false for Leases', async () => {
    const namespace = ns();
    await api.createNamespacedLease({ namespace, body: lease('unconditional') });
    const { code, body } = await failure(api.replaceNamespacedLease({ namespace, name: 'unconditional', body: lease('unconditional') }));
    expect(code).toBe(422);
    expect((body as { message: string }).message).toBe(
      'Lease.coordination.k8s.io "unconditional" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    );
  });

  it('stores MicroTime with microseconds in UTC and rejects a time without six fractional digits', async () => {
    const namespace = ns();
    const at = new V1MicroTime('2026-12-06T08:00:01.234Z');
    await api.createNamespacedLease({ namespace, body: lease('micro', { acquireTime: at, renewTime: at }) });
    const stored = server.get('leases', namespace, 'micro')!;
    expect((stored.spec as { renewTime: string }).renewTime).toBe('2026-12-06T08:00:01.234000Z');
    const res = await fetch(`${server.url}${LEASES}/${namespace}/leases`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(lease('millis', { renewTime: '2026-12-06T08:00:01.234Z' })),
    });
    expect(res.status).toBe(400);
    expect(server.get('leases', namespace, 'millis')).toBeUndefined();
  });

  it('validates leaseDurationSeconds and leaseTransitions', async () => {
    const { code, body } = await failure(api.createNamespacedLease({ namespace: ns(), body: lease('bad', { leaseDurationSeconds: 0, leaseTransitions: -1 }) }));
    expect(code).toBe(422);
    expect((body as { message: string }).message).toBe(
      'Lease.coordination.k8s.io "bad" is invalid: [spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]',
    );
  });

  it('cuts one user off (hang or reset) while others are served, and restores it', async () => {
    const namespace = ns();
    server.addUser('cut-token', 'replica-a');
    const cutApi = server.kubeConfig({ token: 'cut-token' }).makeApiClient(CoordinationV1Api);
    await cutApi.createNamespacedLease({ namespace, body: lease('cut') });

    server.faults.cutConnections('replica-a', 'hang');
    const hanging = cutApi.readNamespacedLease({ namespace, name: 'cut' }).then(
      () => 'answered',
      () => 'failed',
    );
    // Another user is served while the cut user's request stays open.
    await expect(api.readNamespacedLease({ namespace, name: 'cut' })).resolves.toBeDefined();
    const settledEarly = await Promise.race([hanging, api.readNamespacedLease({ namespace, name: 'cut' }).then(() => 'other-first')]);
    expect(settledEarly).toBe('other-first');
    server.faults.restoreConnections('replica-a');
    expect(await hanging).toBe('failed');

    server.faults.cutConnections('replica-a', 'reset');
    await expect(cutApi.readNamespacedLease({ namespace, name: 'cut' })).rejects.toThrow();
    server.faults.restoreConnections();
    await expect(cutApi.readNamespacedLease({ namespace, name: 'cut' })).resolves.toBeDefined();
  });

  it('lists coordination.k8s.io in discovery', async () => {
    const res = await fetch(`${server.url}/apis`, { headers: { Authorization: `Bearer ${server.token}` } });
    const groups = (await res.json()) as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toContain('coordination.k8s.io');
  });
});
