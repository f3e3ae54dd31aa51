import { ApiException } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestJson } from '../../shared/k8s/raw-request.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

describe('requestJson', () => {
  let server: TestApiserver;
  beforeAll(async () => {
    server = await startTestApiserver();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('sends a DELETE with a DeleteOptions body the apiserver can read', async () => {
    const labels = { 'spark-app-selector': 'spark-raw-1' };
    for (const name of ['a', 'b']) server.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'raw', labels }, data: {} });
    server.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other', namespace: 'raw' }, data: {} });
    const deleted = await requestJson<{ kind: string; items: { metadata: { name: string } }[] }>(server.kubeConfig(), {
      method: 'DELETE',
      path: '/api/v1/namespaces/raw/configmaps',
      query: { labelSelector: 'spark-app-selector=spark-raw-1' },
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
    });
    expect(deleted.kind).toBe('ConfigMapList');
    expect(deleted.items.map((i) => i.metadata.name).sort()).toEqual(['a', 'b']);
    expect(server.list('configmaps', 'raw').map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(['other']);
  });

  it('rejects a non-2xx answer with an ApiException carrying the Status body', async () => {
    const err = await requestJson(server.kubeConfig(), { path: '/api/v1/namespaces/raw/configmaps/missing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(404);
    expect(JSON.parse((err as ApiException<string>).body).reason).toBe('NotFound');
  });
});
