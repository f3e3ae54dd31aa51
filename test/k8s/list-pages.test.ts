import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEveryPage, type ListPage } from '../../shared/k8s/list-pages.js';
import { requestJson } from '../../shared/k8s/raw-request.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

type Item = { metadata: { name: string } };

describe('listEveryPage', () => {
  let server: TestApiserver;
  beforeAll(async () => {
    server = await startTestApiserver();
  });
  afterAll(async () => {
    await server.stop();
  });

  const configMap = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: {} });

  it('reads every page, and starts over when a continue token outlived compaction', async () => {
    const ns = 'pages';
    for (const name of ['a', 'b', 'c', 'd', 'e']) server.put(configMap(ns, name));
    const tokens: (string | undefined)[] = [];
    const result = await listEveryPage<Item, string>(
      async (token) => {
        tokens.push(token);
        const page = await requestJson<ListPage<Item>>(server.kubeConfig(), { path: `/api/v1/namespaces/${ns}/configmaps`, query: { limit: 2, continue: token } });
        // After the first page of the first pass, the store moves on and etcd compacts: the token expires.
        if (tokens.length === 1) {
          server.put(configMap(ns, 'f'));
          server.compact();
        }
        return page;
      },
      3,
      (item) => item.metadata.name,
    );
    expect(result.items).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(tokens.filter((t) => t === undefined)).toHaveLength(2);
    expect(result.resourceVersion).toMatch(/^\d+$/);
  });

  it('gives up after the allowed restarts with the 410', async () => {
    const ns = 'pages-expiring';
    for (const name of ['a', 'b', 'c']) server.put(configMap(ns, name));
    const fetchPage = async (token: string | undefined) => {
      const page = await requestJson<ListPage<Item>>(server.kubeConfig(), { path: `/api/v1/namespaces/${ns}/configmaps`, query: { limit: 1, continue: token } });
      server.put(configMap('elsewhere', `x-${Math.random().toString(36).slice(2)}`));
      server.compact();
      return page;
    };
    await expect(listEveryPage(fetchPage, 2)).rejects.toMatchObject({ code: 410 });
  });
});
