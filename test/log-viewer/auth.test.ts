import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AccessPolicy, accessPolicyFromConfig, proxyAddresses, namespacesByGroup } from '../../functions/log-viewer/auth.js';
import type { RecentApps } from '../../functions/log-viewer/recent-apps.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import type { RunningServer } from '../../shared/http/server.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { createKubeClients } from '../../shared/k8s/client.js';
import { startTestApiserver } from '../support/apiserver/index.js';
import { startServeChild } from '../support/serve-child.js';
import { tempStore } from '../log-archiver/support.js';
import { BROWSER_ACCEPT, archiveLines, startViewer } from './pages-support.js';

const TOKEN = 'a-token-of-32-characters-0123456';
const TEAM_A_APP = 'spark-aaaa';
const TEAM_B_APP = 'spark-bbbb';

/** The store, with every call counted: a refusal must cost none. */
function counted(store: ObjectStore): { store: ObjectStore; calls: string[] } {
  const calls: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${String(name)} ${String(args[0])}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, calls };
}

let store: FileObjectStore;
let cleanup: () => Promise<void>;
let server: RunningServer | undefined;
let calls: string[];
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  await archiveLines(store, ['team a secret'], { appId: TEAM_A_APP, namespace: 'team-a' });
  await archiveLines(store, ['team b secret'], { appId: TEAM_B_APP, namespace: 'team-b', firstOffset: 1 });
});
afterEach(async () => {
  await server?.close(0);
  server = undefined;
  await cleanup();
});

async function viewer(access: AccessPolicy): Promise<string> {
  const c = counted(store);
  calls = c.calls;
  server = await startViewer(c.store, { access });
  return server.url;
}

const LOG_A = `/logs/${TEAM_A_APP}/1/stderr`;
const LOG_B = `/logs/${TEAM_B_APP}/1/stderr`;

describe('log-viewer access', () => {
  it('is open by default (SPARKFN_LOGS_AUTH=none), as before', async () => {
    const url = await viewer(accessPolicyFromConfig(loadConfig({})));
    expect(await (await fetch(`${url}${LOG_A}`)).text()).toBe('team a secret\n');
  });

  it('with a bearer token: 401 without it or with a wrong one, before any store request; the log with it', async () => {
    const url = await viewer({ kind: 'token', token: TOKEN });
    const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { authorization: `Basic ${TOKEN}` }, { authorization: 'Bearer' }];
    for (const headers of attempts) {
      for (const path of [LOG_A, `/logs/${TEAM_A_APP}`, '/logs', `${LOG_A}?grep=secret`, `${LOG_A}?download=1`]) {
        const res = await fetch(`${url}${path}`, { headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="logs"');
        expect(await res.text()).not.toContain('secret\n');
      }
    }
    const page = await fetch(`${url}${LOG_A}`, { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(calls).toEqual([]);
    const ok = await fetch(`${url}${LOG_A}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await ok.text()).toBe('team a secret\n');
    expect(calls.length).toBeGreaterThan(0);
  });

  it('with an auth proxy: its headers count only from its addresses; no user is 401', async () => {
    const user = { 'x-forwarded-user': 'ada', 'x-forwarded-email': 'ada@example.com' };
    let url = await viewer({ kind: 'proxy', proxies: proxyAddresses(['10.0.0.0/8', '::2']) });
    const spoofed = await fetch(`${url}${LOG_A}`, { headers: user });
    expect(spoofed.status).toBe(403);
    expect(await spoofed.json()).toMatchObject({ error: { reason: 'untrusted-proxy' } });
    await server!.close(0);

    url = await viewer({ kind: 'proxy', proxies: proxyAddresses(['127.0.0.0/8']) });
    const anonymous = await fetch(`${url}${LOG_A}`, { headers: { 'x-forwarded-groups': 'team-a' } });
    expect(anonymous.status).toBe(401);
    expect(calls).toEqual([]);
    expect(await (await fetch(`${url}${LOG_A}`, { headers: user })).text()).toBe('team a secret\n');
    expect(await (await fetch(`${url}${LOG_A}`, { headers: { 'x-forwarded-email': 'ada@example.com' } })).text()).toBe('team a secret\n');
  });

  it('per namespace: a user reads the namespaces their groups map to, and sees only those apps in the list', async () => {
    const url = await viewer({ kind: 'proxy', proxies: 'any', namespacesByGroup: namespacesByGroup(['team-a=team-a', 'admins=*', 'both=team-a', 'both=team-b']) });
    const as = (groups: string) => ({ headers: { 'x-forwarded-user': 'ada', 'x-forwarded-groups': groups } });

    const nobody = await fetch(`${url}${LOG_A}`, as('interns, guests'));
    expect(nobody.status).toBe(403);
    expect(await nobody.json()).toMatchObject({ error: { reason: 'forbidden' } });
    expect(calls).toEqual([]);

    expect(await (await fetch(`${url}${LOG_A}`, as('guests,team-a'))).text()).toBe('team a secret\n');
    for (const path of [LOG_B, `/logs/${TEAM_B_APP}`, `${LOG_B}?grep=secret`, `${LOG_B}?download=1`]) {
      const res = await fetch(`${url}${path}`, as('team-a'));
      expect(res.status, path).toBe(403);
      expect(await res.json()).toMatchObject({ error: { reason: 'forbidden-namespace' } });
    }
    const listed = (groups: string) => fetch(`${url}/logs`, as(groups)).then(async (r) => ((await r.json()) as RecentApps).apps.map((a) => a.appId).sort());
    expect(await listed('team-a')).toEqual([TEAM_A_APP]);
    expect(await listed('both')).toEqual([TEAM_A_APP, TEAM_B_APP]);
    expect(await listed('admins')).toEqual([TEAM_A_APP, TEAM_B_APP]);
    expect(await (await fetch(`${url}${LOG_B}`, as('admins'))).text()).toBe('team b secret\n');
    // An app the archive names no namespace for is readable only by those who read every namespace.
    await archiveLines(store, ['no namespace'], { appId: 'spark-cccc', namespace: '', firstOffset: 2 });
    expect(((await (await fetch(`${url}/logs/spark-cccc`, as('admins'))).json()) as { namespace?: string }).namespace).toBeUndefined();
    expect((await fetch(`${url}/logs/spark-cccc/1/stderr`, as('both'))).status).toBe(403);
    expect((await fetch(`${url}/logs/spark-cccc/1/stderr`, as('admins'))).status).toBe(200);
  });

  it('per namespace, before anything is archived: the live pod’s namespace decides, and no pod is 404', async () => {
    const api = await startTestApiserver();
    try {
      const cluster = await createKubeClients(api.kubeConfig());
      const c = counted(store);
      server = await startViewer(c.store, { access: { kind: 'proxy', proxies: 'any', namespacesByGroup: namespacesByGroup(['team-a=team-a', 'team-b=team-b']) } }, { cluster });
      const container = 'spark-kubernetes-executor';
      api.put({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'fresh-exec-1', namespace: 'team-b', labels: { 'spark-app-selector': 'spark-fresh', 'spark-role': 'executor', 'spark-exec-id': '1' } },
        spec: { nodeName: 'vk-1', containers: [{ name: container, image: 'spark' }] },
        status: { phase: 'Running', containerStatuses: [{ name: container, ready: true, restartCount: 0, image: 'spark', imageID: '', state: { running: { startedAt: '2025-05-14T02:14:00Z' } } }] },
      });
      api.podLogs.append('team-b', 'fresh-exec-1', container, [{ text: 'live secret of team b', time: '2025-05-14T02:15:00.000000001Z' }]);
      const as = (groups: string) => ({ headers: { 'x-forwarded-user': 'ada', 'x-forwarded-groups': groups } });
      const fresh = `${server.url}/logs/spark-fresh/1/stderr`;
      const refused = await fetch(fresh, as('team-a'));
      expect(refused.status).toBe(403);
      expect(await refused.text()).not.toContain('live secret');
      expect(await (await fetch(fresh, as('team-b'))).text()).toBe('live secret of team b\n');
      expect((await fetch(`${server.url}/logs/spark-nothing/1/stderr`, as('team-a'))).status).toBe(404);
    } finally {
      await api.stop();
    }
  });

  it.each([
    [{ SPARKFN_LOGS_AUTH: 'token' }, 'SPARKFN_LOGS_AUTH=token needs SPARKFN_LOGS_TOKEN'],
    [{ SPARKFN_LOGS_AUTH: 'proxy' }, 'SPARKFN_LOGS_AUTH=proxy needs SPARKFN_LOGS_PROXY_ADDRESSES'],
    [{ SPARKFN_LOGS_AUTH: 'proxy', SPARKFN_LOGS_PROXY_ADDRESSES: '10.0.0.0/8,proxy.local' }, '"proxy.local" is not'],
    [{ SPARKFN_LOGS_AUTH: 'proxy', SPARKFN_LOGS_PROXY_ADDRESSES: '10.0.0.0/33' }, '"10.0.0.0/33" is not'],
    [{ SPARKFN_LOGS_NAMESPACES_BY_GROUP: 'a=b' }, 'set SPARKFN_LOGS_AUTH=proxy too'],
    [{ SPARKFN_LOGS_AUTH: 'proxy', SPARKFN_LOGS_PROXY_ADDRESSES: 'any', SPARKFN_LOGS_NAMESPACES_BY_GROUP: 'team-a' }, '"team-a" is not'],
  ])('refuses the access configuration %j: %s', (env, message) => {
    const config = loadConfig(env);
    expect(() => accessPolicyFromConfig(config)).toThrow(ConfigError);
    expect(() => accessPolicyFromConfig(config)).toThrow(message);
  });

  it.each([
    [{ SPARKFN_LOGS_AUTH: 'oidc' }, 'SPARKFN_LOGS_AUTH'],
    [{ SPARKFN_LOGS_AUTH: 'token', SPARKFN_LOGS_TOKEN: 'short' }, 'SPARKFN_LOGS_TOKEN'],
  ])('refuses %j when loading the configuration, naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('reads a proxy policy from the environment', () => {
    const policy = accessPolicyFromConfig(loadConfig({ SPARKFN_LOGS_AUTH: 'proxy', SPARKFN_LOGS_PROXY_ADDRESSES: '10.42.0.0/16, 127.0.0.1', SPARKFN_LOGS_NAMESPACES_BY_GROUP: 'org:team a=ns-a,admins=*,org:team a=ns-b' }));
    expect(policy.kind).toBe('proxy');
    if (policy.kind !== 'proxy' || policy.proxies === 'any') throw new Error('expected addresses');
    expect(policy.proxies.check('10.42.7.9', 'ipv4')).toBe(true);
    expect(policy.proxies.check('10.43.0.1', 'ipv4')).toBe(false);
    expect([...(policy.namespacesByGroup?.get('org:team a') ?? [])]).toEqual(['ns-a', 'ns-b']);
  });

  it('sparkfn serve refuses to start when the access settings do not fit together', async () => {
    const started = startServeChild({ SPARKFN_STORE: `file://${store.dir}`, SPARKFN_LOGS_AUTH: 'proxy' });
    await expect(started).rejects.toThrow(/exited before listening[\s\S]*SPARKFN_LOGS_AUTH=proxy needs SPARKFN_LOGS_PROXY_ADDRESSES/);
  }, 90_000);

  it('sparkfn serve enforces SPARKFN_LOGS_AUTH from its environment', async () => {
    const child = await startServeChild({ SPARKFN_STORE: `file://${store.dir}`, SPARKFN_LOGS_AUTH: 'token', SPARKFN_LOGS_TOKEN: TOKEN, SPARKFN_LOG_LEVEL: 'warn' });
    try {
      expect((await fetch(`${child.url}${LOG_A}`)).status).toBe(401);
      expect(await (await fetch(`${child.url}${LOG_A}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()).toBe('team a secret\n');
    } finally {
      await child.stop();
    }
  }, 90_000);
});
