import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

const FIXTURES = '/work/shared/fixtures/k8s';
const fixtureFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();

/** kube-apiserver writes compact JSON plus a newline; the captured fixtures are only re-indented. */
function expectedBytes(file: string): string {
  return `${JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')))}\n`;
}

interface Answer {
  status: number;
  body: string;
}

const pod = (name: string, cpu?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox', ...(cpu ? { resources: { requests: { cpu } } } : {}) }] },
});

const quota = (name: string, hard: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name },
  spec: { hard },
});

describe('test apiserver error bodies', () => {
  let server: TestApiserver;
  let nsCounter = 0;
  const ns = () => `fixture-${++nsCounter}`;

  async function call(method: string, path: string, body?: unknown, options: { token?: string; contentType?: string } = {}): Promise<Answer> {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${options.token ?? server.token}`,
        ...(body !== undefined ? { 'Content-Type': options.contentType ?? 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.text() };
  }

  async function create(namespace: string, resource: string, body: unknown): Promise<Answer> {
    return call('POST', `/api/v1/namespaces/${namespace}/${resource}`, body);
  }

  /** Reproduces, through HTTP, the situation each fixture was captured in. */
  const situations: Record<string, () => Promise<Answer>> = {
    '401-unauthorized.json': () => call('GET', '/api/v1/namespaces/default/pods', undefined, { token: 'not-the-token' }),

    '403-exceeded-quota.json': async () => {
      const n = ns();
      expect((await create(n, 'resourcequotas', quota('compute', { 'requests.cpu': '2' }))).status).toBe(201);
      for (const name of ['p1', 'p2', 'p3', 'p4']) expect((await create(n, 'pods', pod(name, '500m'))).status).toBe(201);
      return create(n, 'pods', pod('p5', '500m'));
    },

    '403-failed-quota-must-specify.json': async () => {
      const n = ns();
      await create(n, 'resourcequotas', quota('compute', { 'requests.cpu': '2' }));
      return create(n, 'pods', pod('noreq'));
    },

    '403-rbac-forbidden.json': () => {
      server.addUser('alice-token', 'alice', []);
      return call('GET', '/api/v1/namespaces/verify-27284/pods', undefined, { token: 'alice-token' });
    },

    '404-not-found.json': () => call('GET', `/api/v1/namespaces/${ns()}/pods/nope`),

    '405-deletecollection-not-allowed.json': async () => {
      server.setDeleteCollectionAllowed('services', false);
      try {
        return await call('DELETE', `/api/v1/namespaces/${ns()}/services?labelSelector=app%3Dspark`);
      } finally {
        server.setDeleteCollectionAllowed('services', true);
      }
    },

    '409-already-exists.json': async () => {
      const n = ns();
      await create(n, 'pods', pod('p1'));
      return create(n, 'pods', pod('p1'));
    },

    '409-conflict-resourcequota-captured.json': async () => {
      const n = ns();
      await create(n, 'resourcequotas', quota('compute', { pods: '10' }));
      server.faults.quotaConflicts({ next: 1 });
      return create(n, 'pods', pod('racer'));
    },

    '409-conflict-resourcequota.json': async () => {
      const n = ns();
      await create(n, 'resourcequotas', quota('delphi-resourcequota', { pods: '10' }));
      server.faults.quotaConflicts({ next: 1 });
      return create(n, 'pods', pod('racer'));
    },

    '409-conflict-stale-update.json': async () => {
      const n = ns();
      const created = JSON.parse((await create(n, 'configmaps', { metadata: { name: 'cm' }, data: { a: '1' } })).body);
      await call('PUT', `/api/v1/namespaces/${n}/configmaps/cm`, { ...created, data: { a: '2' } });
      return call('PUT', `/api/v1/namespaces/${n}/configmaps/cm`, { ...created, data: { a: '3' } });
    },

    '410-expired-continue.json': async () => {
      const n = ns();
      for (const name of ['ab', 'cm', 'zz']) await create(n, 'configmaps', { metadata: { name } });
      const first = JSON.parse((await call('GET', `/api/v1/namespaces/${n}/configmaps?limit=2`)).body);
      expect(first.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['ab', 'cm']);
      // etcd keeps the compaction revision itself readable: the list's revision must be older than that.
      await create(n, 'configmaps', { metadata: { name: 'later' } });
      server.compact();
      return call('GET', `/api/v1/namespaces/${n}/configmaps?limit=2&continue=${first.metadata.continue}`);
    },

    '410-expired-list.json': async () => {
      const n = ns();
      await create(n, 'configmaps', { metadata: { name: 'before' } });
      const rv = server.resourceVersion();
      await create(n, 'configmaps', { metadata: { name: 'after' } });
      server.compact();
      return call('GET', `/api/v1/namespaces/${n}/configmaps?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    },
  };

  beforeAll(async () => {
    server = await startTestApiserver();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('has a reproduction for every fixture file', () => {
    expect(fixtureFiles.filter((f) => !(f in situations))).toEqual([]);
  });

  it.each(fixtureFiles)('answers %s byte for byte', async (file) => {
    const situation = situations[file];
    expect(situation, `add a reproduction of ${file} to this test`).toBeDefined();
    const answer = await situation!();
    const expected = JSON.parse(expectedBytes(file)) as { code: number };
    expect(answer.status).toBe(expected.code);
    expect(answer.body).toBe(expectedBytes(file));
  });

  it('answers a watch from a compacted resourceVersion with 200 and the ERROR event the fixtures README shows', async () => {
    const readme = readFileSync(join(FIXTURES, 'README.md'), 'utf8');
    const line = /`(\{"type":"ERROR".*?\}\})`/.exec(readme)?.[1];
    expect(line).toBeDefined();
    const local = await startTestApiserver({ initialResourceVersion: 300 });
    try {
      const res = await fetch(`${local.url}/api/v1/namespaces/default/configmaps`, { headers: { Authorization: `Bearer ${local.token}` } });
      expect(res.status).toBe(200);
      for (let i = 0; i < 10; i++) local.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'default' } });
      expect(local.resourceVersion()).toBe('310');
      local.compact();
      const watch = await fetch(`${local.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=303`, {
        headers: { Authorization: `Bearer ${local.token}` },
      });
      expect(watch.status).toBe(200);
      expect(await watch.text()).toBe(`${line}\n`);
    } finally {
      await local.stop();
    }
  });
});
