import { ApiException, CoreV1Api, type V1Container, type V1ResourceQuota } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatQuantity, parseQuantity, startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

describe('quantities', () => {
  it.each([
    ['500m', '500m'],
    ['0.5', '500m'],
    ['2', '2'],
    ['2000m', '2'],
    ['1.5Gi', '1536Mi'],
    ['1024Mi', '1Gi'],
    ['1000Mi', '1000Mi'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['1000M', '1G'],
    ['1e3', '1e3'],
    ['1.5e3', '1500'],
    ['12e-3', '12e-3'],
    ['100k', '100k'],
    ['512Ki', '512Ki'],
    ['1023', '1023'],
    ['1Ti', '1Ti'],
    ['0.1m', '100u'],
    ['1n', '1n'],
    ['0.0000000001', '1n'],
    ['0', '0'],
    ['-1500m', '-1500m'],
    ['1E', '1E'],
  ])('parses %s and prints it canonically as %s', (input, canonical) => {
    expect(formatQuantity(parseQuantity(input))).toBe(canonical);
  });

  it.each(['', 'abc', '1.2.3', '5 Gi', '1e', 'Mi'])('refuses %j', (input) => {
    expect(() => parseQuantity(input)).toThrow(/quantities must match/);
  });
});

function container(name: string, requests?: Record<string, string>, limits?: Record<string, string>): V1Container {
  return { name, image: 'spark:3.5', resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) } };
}

describe('ResourceQuota admission and usage', () => {
  let server: TestApiserver;
  let core: CoreV1Api;
  let counter = 0;
  const ns = () => `quota-${++counter}`;

  beforeAll(async () => {
    server = await startTestApiserver();
    core = server.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await server.stop();
  });

  async function quota(namespace: string, hard: Record<string, string>, name = 'compute'): Promise<V1ResourceQuota> {
    await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name }, spec: { hard } } });
    return core.readNamespacedResourceQuota({ name, namespace });
  }

  async function used(namespace: string, name = 'compute'): Promise<Record<string, string>> {
    return (await core.readNamespacedResourceQuota({ name, namespace })).status!.used!;
  }

  async function createPod(namespace: string, name: string, containers: V1Container[], initContainers?: V1Container[]) {
    return core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { containers, initContainers } } });
  }

  async function rejection(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException<string>;
    return { code: e.code, message: (JSON.parse(e.body) as { message: string }).message };
  }

  it('mirrors spec.hard into status.hard and starts usage at zero', async () => {
    const namespace = ns();
    const q = await quota(namespace, { 'requests.cpu': '4', 'requests.memory': '8Gi', pods: '10' });
    expect(q.status!.hard).toEqual({ 'requests.cpu': '4', 'requests.memory': '8Gi', pods: '10' });
    expect(q.status!.used).toEqual({ 'requests.cpu': '0', 'requests.memory': '0', pods: '0' });
  });

  it('charges usage on create and releases it when a pod succeeds, fails or is deleted', async () => {
    const namespace = ns();
    await quota(namespace, { 'requests.cpu': '4', 'requests.memory': '8Gi', 'limits.memory': '16Gi', pods: '10', 'count/pods': '10' });
    await createPod(namespace, 'driver', [container('spark', { cpu: '1', memory: '2Gi' }, { memory: '4Gi' })]);
    await createPod(namespace, 'exec-1', [container('spark', { cpu: '500m', memory: '1536Mi' }, { memory: '3Gi' })]);
    await createPod(namespace, 'exec-2', [container('spark', { cpu: '500m', memory: '512Mi' }, { memory: '1Gi' })]);
    expect(await used(namespace)).toEqual({ 'requests.cpu': '2', 'requests.memory': '4Gi', 'limits.memory': '8Gi', pods: '3', 'count/pods': '3' });

    server.setPodPhase(namespace, 'exec-1', 'Succeeded');
    expect(await used(namespace)).toMatchObject({ 'requests.cpu': '1500m', 'requests.memory': '2560Mi', pods: '2', 'count/pods': '3' });

    await core.patchNamespacedPodStatus({ name: 'exec-2', namespace, body: [{ op: 'add', path: '/status/phase', value: 'Failed' }] });
    expect(await used(namespace)).toMatchObject({ 'requests.cpu': '1', pods: '1' });

    await core.deleteNamespacedPod({ name: 'driver', namespace });
    expect(await used(namespace)).toEqual({ 'requests.cpu': '0', 'requests.memory': '0', 'limits.memory': '0', pods: '0', 'count/pods': '2' });
  });

  it('admits again once released usage makes room', async () => {
    const namespace = ns();
    await quota(namespace, { 'requests.cpu': '1' });
    await createPod(namespace, 'a', [container('c', { cpu: '1' })]);
    expect((await rejection(createPod(namespace, 'b', [container('c', { cpu: '100m' })]))).code).toBe(403);
    server.setPodPhase(namespace, 'a', 'Succeeded');
    await createPod(namespace, 'b', [container('c', { cpu: '100m' })]);
    expect(await used(namespace)).toEqual({ 'requests.cpu': '100m' });
  });

  it('counts cpu and memory as aliases of requests.*, limits defaulting requests, init containers as a maximum', async () => {
    const namespace = ns();
    await quota(namespace, { cpu: '10', memory: '10Gi', 'limits.cpu': '20' });
    await createPod(
      namespace,
      'p',
      [container('a', undefined, { cpu: '2', memory: '1Gi' }), container('b', { cpu: '500m', memory: '1Gi' }, { cpu: '1', memory: '1Gi' })],
      [container('init', { cpu: '3', memory: '512Mi' }, { cpu: '3', memory: '512Mi' })],
    );
    expect(await used(namespace)).toEqual({ cpu: '3', memory: '2Gi', 'limits.cpu': '3' });
    const stored = await core.readNamespacedPod({ name: 'p', namespace });
    expect(stored.spec!.containers[0]!.resources!.requests).toEqual({ cpu: '2', memory: '1Gi' });
    expect(stored.status!.qosClass).toBe('Burstable');
  });

  it('formats a multi-resource rejection the way kube-apiserver does: sorted, comma-joined, canonical', async () => {
    const namespace = ns();
    await quota(namespace, { 'requests.cpu': '2', 'requests.memory': '4G', 'limits.memory': '4Gi', pods: '5' });
    await createPod(namespace, 'a', [container('c', { cpu: '1500m', memory: '3000M' }, { memory: '3Gi' })]);
    const { code, message } = await rejection(createPod(namespace, 'b', [container('c', { cpu: '1', memory: '1.5G' }, { memory: '1.5Gi' })]));
    expect(code).toBe(403);
    expect(message).toBe(
      'pods "b" is forbidden: exceeded quota: compute, requested: limits.memory=1536Mi,requests.cpu=1,requests.memory=1500M, used: limits.memory=3Gi,requests.cpu=1500m,requests.memory=3G, limited: limits.memory=4Gi,requests.cpu=2,requests.memory=4G',
    );
    expect(await used(namespace)).toMatchObject({ pods: '1' });
  });

  it('rejects a pod without the requests a quota tracks, naming every container and resource', async () => {
    const namespace = ns();
    await quota(namespace, { 'requests.cpu': '4', 'limits.memory': '8Gi' });
    const { code, message } = await rejection(
      createPod(namespace, 'p', [container('b', { cpu: '1' }), container('a')], [container('init', { cpu: '1' }, { memory: '1Gi' })]),
    );
    expect(code).toBe(403);
    expect(message).toBe('pods "p" is forbidden: failed quota: compute: must specify limits.memory for: a,b; must specify requests.cpu for: a');
  });

  it('checks every quota in the namespace, in name order, and charges all of them', async () => {
    const namespace = ns();
    await quota(namespace, { pods: '2' }, 'b-pods');
    await quota(namespace, { 'requests.cpu': '1' }, 'a-cpu');
    await createPod(namespace, 'x', [container('c', { cpu: '600m' })]);
    expect(await used(namespace, 'b-pods')).toEqual({ pods: '1' });
    expect(await used(namespace, 'a-cpu')).toEqual({ 'requests.cpu': '600m' });
    const { message } = await rejection(createPod(namespace, 'y', [container('c', { cpu: '600m' })]));
    expect(message).toContain('exceeded quota: a-cpu,');
    expect(await used(namespace, 'b-pods')).toEqual({ pods: '1' });
  });

  it('does not charge quota for a create that failed with AlreadyExists or a dry run', async () => {
    const namespace = ns();
    await quota(namespace, { pods: '5' });
    await createPod(namespace, 'x', [container('c')]);
    expect((await rejection(createPod(namespace, 'x', [container('c')]))).code).toBe(409);
    await core.createNamespacedPod({ namespace, dryRun: 'All', body: { metadata: { name: 'dry' }, spec: { containers: [container('c')] } } });
    expect(await used(namespace)).toEqual({ pods: '1' });
    expect((await core.listNamespacedPod({ namespace })).items.map((p) => p.metadata!.name)).toEqual(['x']);
  });
});
