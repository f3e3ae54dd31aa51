import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyApiError } from '../../shared/k8s/classify-api-error.js';
import { APF_TOO_MANY_REQUESTS_BODY, startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

async function rejected(promise: Promise<unknown>): Promise<ApiException<string>> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiException);
  return err as ApiException<string>;
}

describe('test apiserver faults and call counting', () => {
  let server: TestApiserver;
  let core: CoreV1Api;

  beforeAll(async () => {
    server = await startTestApiserver();
    core = server.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.faults.reset();
    server.resetCalls();
  });

  it('throttles the next N matching requests with 429 and Retry-After, as API Priority and Fairness does', async () => {
    server.faults.throttle(2, { verb: 'create', resource: 'pods', retryAfterSeconds: 3 });
    await core.listNamespacedPod({ namespace: 'f' });
    const first = await rejected(core.createNamespacedPod({ namespace: 'f', body: { metadata: { name: 'a' }, spec: { containers: [{ name: 'c' }] } } }));
    expect(first.code).toBe(429);
    expect(first.headers['retry-after']).toBe('3');
    expect(first.body).toBe(APF_TOO_MANY_REQUESTS_BODY);
    expect(classifyApiError(first)).toMatchObject({ class: 'throttled', retryAfterSeconds: 3, retryable: true });
    await rejected(core.createNamespacedPod({ namespace: 'f', body: { metadata: { name: 'a' }, spec: { containers: [{ name: 'c' }] } } }));
    await core.createNamespacedPod({ namespace: 'f', body: { metadata: { name: 'a' }, spec: { containers: [{ name: 'c' }] } } });
    expect(server.calls.map((c) => c.code)).toEqual([200, 429, 429, 201]);
  });

  it('can throttle with the TooManyRequests Status body instead', async () => {
    server.faults.throttle(1, { body: 'status', retryAfterSeconds: 7 });
    const err = await rejected(core.listNamespacedConfigMap({ namespace: 'f' }));
    expect(JSON.parse(err.body)).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 7 }, code: 429 });
    expect(classifyApiError(err).retryAfterSeconds).toBe(7);
  });

  it('answers 500 InternalError to the next N requests, then recovers', async () => {
    server.faults.internalError(1);
    const err = await rejected(core.listNamespacedPod({ namespace: 'f' }));
    expect(err.code).toBe(500);
    expect(JSON.parse(err.body)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: injected fault',
      reason: 'InternalError',
      details: { causes: [{ message: 'injected fault' }] },
      code: 500,
    });
    expect(classifyApiError(err)).toMatchObject({ class: 'transient', retryable: true });
    await expect(core.listNamespacedPod({ namespace: 'f' })).resolves.toBeDefined();
  });

  it('adds latency to every request', async () => {
    server.faults.setLatency(120);
    const started = performance.now();
    await core.listNamespacedPod({ namespace: 'f' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
    server.faults.setLatency(0);
    const quick = performance.now();
    await core.listNamespacedPod({ namespace: 'f' });
    expect(performance.now() - quick).toBeLessThan(115);
  });

  it('counts calls per verb, group, resource and subresource', async () => {
    await core.createNamespacedPod({ namespace: 'count', body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } } });
    await core.listNamespacedPod({ namespace: 'count' });
    await core.listPodForAllNamespaces({});
    await core.readNamespacedPodStatus({ name: 'p', namespace: 'count' });
    await fetch(`${server.url}/apis/networking.k8s.io/v1/namespaces/count/ingresses`, { headers: { Authorization: `Bearer ${server.token}` } });
    expect(server.calls[0]).toEqual({ verb: 'create', group: '', resource: 'pods', namespace: 'count', user: 'admin', code: 201 });
    expect(server.calls[2]).toMatchObject({ verb: 'list', group: '', resource: 'pods' });
    expect(server.calls[2]!.namespace).toBeUndefined();
    expect(server.callSummary()).toEqual({
      'create pods': 1,
      'get pods/status': 1,
      'list ingresses.networking.k8s.io': 1,
      'list pods': 2,
    });
    expect(server.countCalls({ verb: 'list', group: '', resource: 'pods' })).toBe(2);
    server.resetCalls();
    expect(server.calls).toHaveLength(0);
  });

  it('records unauthenticated calls with 401 and no user', async () => {
    const stranger = server.kubeConfig({ token: 'wrong' }).makeApiClient(CoreV1Api);
    const err = await rejected(stranger.listNamespacedPod({ namespace: 'f' }));
    expect(err.code).toBe(401);
    expect(classifyApiError(err).class).toBe('forbidden');
    expect(server.calls).toEqual([{ verb: 'list', group: '', resource: 'pods', namespace: 'f', code: 401 }]);
  });
});
