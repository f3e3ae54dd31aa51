import { AuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

const REVIEWS = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
const WHOAMI = '/apis/authentication.k8s.io/v1/selfsubjectreviews';

let server: TestApiserver;

beforeAll(async () => {
  server = await startTestApiserver();
  server.addUser('reader-token', 'reader', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }]);
  server.addUser('spark-token', 'spark-editor', [{ verbs: ['create'], apiGroups: [''], resources: ['pods/eviction'], namespaces: ['spark'] }]);
  server.addUser('nothing-token', 'nobody-special', []);
});

afterAll(async () => {
  await server?.stop();
});

async function post(path: string, token: string, body: unknown, method = 'POST') {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
  });
  return { code: res.status, body: (await res.json()) as Record<string, any> };
}

const access = (resourceAttributes: Record<string, string>) => ({
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SelfSubjectAccessReview',
  spec: { resourceAttributes },
});

describe('test apiserver: SelfSubjectAccessReview', () => {
  it('answers 201 with the spec echoed and allowed: true plus RBAC reason when a rule matches', async () => {
    const { code, body } = await post(REVIEWS, 'reader-token', access({ verb: 'list', group: '', resource: 'pods' }));
    expect(code).toBe(201);
    expect(body).toEqual({
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: { verb: 'list', resource: 'pods' } },
      status: { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "reader" of ClusterRole "reader" to User "reader"' },
    });
  });

  it('answers allowed: false without a reason when no rule matches, as RBAC gives none', async () => {
    const { code, body } = await post(REVIEWS, 'reader-token', access({ verb: 'delete', resource: 'pods', namespace: 'spark' }));
    expect(code).toBe(201);
    expect(body.status).toEqual({ allowed: false });
  });

  it('lets any authenticated user ask, even one whose rules grant nothing', async () => {
    const { code, body } = await post(REVIEWS, 'nothing-token', access({ verb: 'get', resource: 'pods' }));
    expect(code).toBe(201);
    expect(body.status).toEqual({ allowed: false });
    expect((await post(REVIEWS, 'unknown-token', access({ verb: 'get', resource: 'pods' }))).code).toBe(401);
  });

  it('matches subresources and namespaces: a namespaced grant does not cover cluster scope', async () => {
    const eviction = { verb: 'create', resource: 'pods', subresource: 'eviction' };
    expect((await post(REVIEWS, 'spark-token', access({ ...eviction, namespace: 'spark' }))).body.status).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "spark-editor/spark" of Role "spark-editor" to User "spark-editor"',
    });
    expect((await post(REVIEWS, 'spark-token', access(eviction))).body.status).toEqual({ allowed: false });
    expect((await post(REVIEWS, 'spark-token', access({ ...eviction, namespace: 'other' }))).body.status).toEqual({ allowed: false });
    expect((await post(REVIEWS, 'spark-token', access({ verb: 'create', resource: 'pods', namespace: 'spark' }))).body.status).toEqual({ allowed: false });
  });

  it('allows everything to the unrestricted user, as a system:masters member', async () => {
    const { body } = await post(REVIEWS, server.token, access({ verb: 'deletecollection', group: 'sparkoperator.k8s.io', resource: 'sparkapplications' }));
    expect(body.status).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"',
    });
  });

  it('answers 422 when the spec has neither resource nor non-resource attributes', async () => {
    const { code, body } = await post(REVIEWS, 'reader-token', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {} });
    expect(code).toBe(422);
    expect(body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      message: 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
      code: 422,
    });
  });

  it('refuses other verbs with 405 and stores nothing', async () => {
    expect((await post(REVIEWS, server.token, undefined, 'GET')).code).toBe(405);
  });

  it('is what client-node createSelfSubjectAccessReview expects', async () => {
    const api = server.kubeConfig({ token: 'reader-token' }).makeApiClient(AuthorizationV1Api);
    const review = await api.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } } } });
    expect(review.status?.allowed).toBe(true);
    expect(review.spec.resourceAttributes).toEqual({ verb: 'get', resource: 'pods', namespace: 'default' });
    expect(server.countCalls({ verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews', user: 'reader', code: 201 })).toBeGreaterThan(0);
  });
});

describe('test apiserver: SelfSubjectReview', () => {
  it('answers who the token belongs to, with its groups', async () => {
    const { code, body } = await post(WHOAMI, 'reader-token', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(code).toBe(201);
    expect(body).toEqual({
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) },
      status: { userInfo: { username: 'reader', groups: ['system:authenticated'] } },
    });
    expect((await post(WHOAMI, server.token, {})).body.status.userInfo).toEqual({ username: 'admin', groups: ['system:masters', 'system:authenticated'] });
  });

  it('answers 404 like a server before 1.28 when selfSubjectReview is off', async () => {
    const old = await startTestApiserver({ selfSubjectReview: false });
    try {
      const res = await fetch(`${old.url}${WHOAMI}`, { method: 'POST', headers: { Authorization: `Bearer ${old.token}`, 'Content-Type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'the server could not find the requested resource', code: 404 });
    } finally {
      await old.stop();
    }
  });
});
