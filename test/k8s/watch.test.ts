import { CoreV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoffDelay, watchPods, watchResource, type WatchEvent, type WatchStatus } from '../../shared/k8s/watch.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

const TERMINAL = new Set(['Succeeded', 'Failed']);
/** Upper bound for any single wait: every wait below is event-driven and ends far sooner. */
const WAIT_MS = 10_000;

/** Promises that resolve when a condition over test state becomes true, re-checked on `notify()`. */
function conditions() {
  const waiting: { check: () => boolean; resolve: () => void }[] = [];
  return {
    notify() {
      for (const w of [...waiting]) {
        if (w.check()) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    until(check: () => boolean, what: string): Promise<void> {
      if (check()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
        waiting.push({
          check,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}

function pod(name: string, labels: Record<string, string> = { app: 'etl' }): V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'spark', image: 'spark:3.5' }] } };
}

describe('test apiserver watch streams (client-node Watch)', () => {
  let server: TestApiserver;
  beforeEach(async () => {
    server = await startTestApiserver();
  });
  afterEach(async () => {
    await server.stop();
  });

  async function watchRaw(path: string, query: Record<string, string | number | boolean>) {
    const events: { type: string; name?: string; rv?: string; labels?: Record<string, string> }[] = [];
    const when = conditions();
    let ended: unknown = 'open';
    const controller = await new Watch(server.kubeConfig()).watch(
      path,
      query,
      (type, object: { metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> } }) => {
        events.push({ type, name: object.metadata?.name, rv: object.metadata?.resourceVersion, labels: object.metadata?.labels });
        when.notify();
      },
      (err) => {
        ended = err;
        when.notify();
      },
    );
    return { events, when, controller, ended: () => ended };
  }

  it('starts with the current objects, then streams changes with their resourceVersions', async () => {
    const core = server.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: 'w', body: pod('a') });
    const w = await watchRaw('/api/v1/namespaces/w/pods', {});
    await w.when.until(() => w.events.length === 1, 'the initial ADDED');
    await core.createNamespacedPod({ namespace: 'w', body: pod('b') });
    await core.createNamespacedPod({ namespace: 'other', body: pod('c') });
    server.setPodPhase('w', 'b', 'Running');
    await core.deleteNamespacedPod({ name: 'a', namespace: 'w' });
    await w.when.until(() => w.events.length === 4, 'four events');
    expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED a', 'ADDED b', 'MODIFIED b', 'DELETED a']);
    expect(w.events.at(-1)!.rv).toBe(server.resourceVersion());
    w.controller.abort();
  });

  it('resumes from a resourceVersion with exactly the later events', async () => {
    const core = server.kubeConfig().makeApiClient(CoreV1Api);
    const first = await core.createNamespacedPod({ namespace: 'w', body: pod('a') });
    await core.createNamespacedPod({ namespace: 'w', body: pod('b') });
    server.setPodPhase('w', 'a', 'Running');
    const w = await watchRaw('/api/v1/namespaces/w/pods', { resourceVersion: first.metadata!.resourceVersion! });
    await w.when.until(() => w.events.length === 2, 'two events');
    expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED b', 'MODIFIED a']);
    w.controller.abort();
  });

  it('turns a change that leaves or enters the label selector into DELETED or ADDED', async () => {
    const core = server.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: 'w', body: pod('a') });
    const w = await watchRaw('/api/v1/namespaces/w/pods', { labelSelector: 'app=etl' });
    await w.when.until(() => w.events.length === 1, 'the initial ADDED');
    server.put({ ...server.get('pods', 'w', 'a')!, metadata: { ...server.get('pods', 'w', 'a')!.metadata, labels: { app: 'web' } } });
    server.put({ ...server.get('pods', 'w', 'a')!, metadata: { ...server.get('pods', 'w', 'a')!.metadata, labels: { app: 'etl' } } });
    await w.when.until(() => w.events.length === 3, 'three events');
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    expect(w.events[1]!.labels).toEqual({ app: 'etl' });
    w.controller.abort();
  });

  it('sends bookmarks when allowed and ends the stream after timeoutSeconds', async () => {
    const w = await watchRaw('/api/v1/namespaces/w/pods', { allowWatchBookmarks: true, timeoutSeconds: 1 });
    server.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: 'w' } });
    server.sendBookmarks();
    await w.when.until(() => w.events.length === 1, 'a bookmark');
    expect(w.events[0]).toMatchObject({ type: 'BOOKMARK', rv: server.resourceVersion() });
    await w.when.until(() => w.ended() !== 'open', 'the server-side timeout');
    expect(w.ended()).toBeNull();
    expect(server.openWatches()).toBe(0);
  });

  it('drops every stream after N events when told to', async () => {
    const w = await watchRaw('/api/v1/namespaces/w/pods', { resourceVersion: server.resourceVersion() });
    server.faults.dropWatchesAfterEvents(2);
    const core = server.kubeConfig().makeApiClient(CoreV1Api);
    for (const name of ['a', 'b', 'c']) await core.createNamespacedPod({ namespace: 'w', body: pod(name) });
    await w.when.until(() => w.ended() !== 'open', 'the drop');
    expect(w.events.map((e) => e.name)).toEqual(['a', 'b']);
    expect(w.ended()).toBeInstanceOf(Error);
  });
});

describe('watchPods', () => {
  let server: TestApiserver;
  let core: CoreV1Api;
  let ac: AbortController;
  beforeEach(async () => {
    server = await startTestApiserver({ historyWindow: 1000 });
    core = server.kubeConfig().makeApiClient(CoreV1Api);
    ac = new AbortController();
  });
  afterEach(async () => {
    ac.abort();
    await server.stop();
  });

  /** A consumer that tracks what it was told, the way job-cost's pod ledger would. */
  function consumer() {
    const when = conditions();
    const phase = new Map<string, string | undefined>();
    const terminalTransitions = new Map<string, number>();
    const deletions = new Map<string, number>();
    const delivered = new Set<string>();
    const duplicates: string[] = [];
    const origins: string[] = [];
    const statuses: WatchStatus[] = [];
    const onEvent = (e: WatchEvent<V1Pod>) => {
      const name = e.object.metadata!.name!;
      const key = `${e.object.metadata!.uid}@${e.object.metadata!.resourceVersion}:${e.type}`;
      if (delivered.has(key)) duplicates.push(key);
      delivered.add(key);
      origins.push(`${e.origin} ${e.type} ${name}`);
      if (e.type === 'DELETED') {
        deletions.set(name, (deletions.get(name) ?? 0) + 1);
      } else {
        const before = phase.get(name);
        const now = e.object.status?.phase;
        if (!TERMINAL.has(before ?? '') && TERMINAL.has(now ?? '')) terminalTransitions.set(name, (terminalTransitions.get(name) ?? 0) + 1);
        phase.set(name, now);
      }
      when.notify();
    };
    const onStatus = (s: WatchStatus) => {
      statuses.push(s);
      when.notify();
    };
    return { when, phase, terminalTransitions, deletions, duplicates, origins, statuses, onEvent, onStatus };
  }

  it('delivers every terminal transition exactly once through dropped streams and a 410 relist', async () => {
    const namespace = 'spark';
    const names = Array.from({ length: 24 }, (_, i) => `exec-${String(i).padStart(2, '0')}`);
    for (const name of names) await core.createNamespacedPod({ namespace, body: pod(name) });
    await core.createNamespacedPod({ namespace, body: pod('not-mine', { app: 'web' }) });
    const c = consumer();
    const w = watchPods<V1Pod>({
      kubeConfig: server.kubeConfig(),
      namespace,
      labelSelector: 'app=etl',
      signal: ac.signal,
      onEvent: c.onEvent,
      onStatus: c.onStatus,
      backoff: { initialMs: 5, maxMs: 50 },
      timeoutSeconds: 60,
    });
    await w.synced;
    expect(c.phase.size).toBe(24);
    const terminal = (name: string, i: number) => server.setPodPhase(namespace, name, i % 3 === 0 ? 'Failed' : 'Succeeded');
    const allTerminal = (subset: string[]) => () => subset.every((n) => TERMINAL.has(c.phase.get(n) ?? ''));

    // Live: Running then terminal, on an open stream.
    const live = names.slice(0, 8);
    live.forEach((n) => server.setPodPhase(namespace, n, 'Running'));
    live.forEach(terminal);
    await c.when.until(allTerminal(live), 'the live transitions');

    // The stream breaks mid-way; the watch resumes from the last resourceVersion it saw.
    const dropped = names.slice(8, 16);
    server.faults.dropWatchesAfterEvents(3);
    dropped.forEach((n) => server.setPodPhase(namespace, n, 'Running'));
    dropped.forEach((n, i) => terminal(n, i + 8));
    await c.when.until(allTerminal(dropped), 'the transitions around a dropped stream');
    expect(w.stats.retries).toBeGreaterThanOrEqual(1);
    expect(w.stats.expired).toBe(0);

    // Running is seen live; then, while disconnected, they end, two earlier pods are deleted and
    // history is compacted: resuming answers 410 and only a relist can tell what happened.
    const gap = names.slice(16);
    gap.forEach((n) => server.setPodPhase(namespace, n, 'Running'));
    await c.when.until(() => gap.every((n) => c.phase.get(n) === 'Running'), 'Running before the gap');
    expect(server.faults.dropWatches()).toBe(1);
    gap.forEach((n, i) => terminal(n, i + 16));
    server.remove('pods', namespace, names[0]!);
    server.remove('pods', namespace, names[1]!);
    server.compact();
    await c.when.until(allTerminal(gap), 'the transitions missed during the gap');
    await c.when.until(() => c.deletions.size === 2, 'the deletions missed during the gap');
    expect(w.stats.expired).toBe(1);

    // Back to live: a deletion through the API arrives on the stream once.
    await core.deleteNamespacedPod({ name: names[2]!, namespace });
    await c.when.until(() => c.deletions.has(names[2]!), 'a live deletion');

    expect(Object.fromEntries(c.terminalTransitions)).toEqual(Object.fromEntries(names.map((n) => [n, 1])));
    expect(Object.fromEntries(c.deletions)).toEqual({ [names[0]!]: 1, [names[1]!]: 1, [names[2]!]: 1 });
    expect(c.duplicates).toEqual([]);
    expect(c.phase.has('not-mine')).toBe(false);
    expect(c.origins.filter((o) => o.startsWith('relist')).sort()).toEqual(
      [...gap.map((n) => `relist MODIFIED ${n}`), `relist DELETED ${names[0]}`, `relist DELETED ${names[1]}`].sort(),
    );
    expect(w.stats.synthesized).toBe(10);
    expect(c.statuses.filter((s) => s.type === 'expired')).toHaveLength(1);
  });

  it('resumes from a bookmark, so compaction of unrelated history costs no relist', async () => {
    await core.createNamespacedPod({ namespace: 'bm', body: pod('driver') });
    const c = consumer();
    const w = watchPods<V1Pod>({ kubeConfig: server.kubeConfig(), namespace: 'bm', signal: ac.signal, onEvent: c.onEvent, onStatus: c.onStatus, backoff: { initialMs: 5, maxMs: 50 } });
    await w.synced;
    await c.when.until(() => c.statuses.some((s) => s.type === 'watching'), 'the watch');
    for (let i = 0; i < 5; i++) server.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `noise-${i}`, namespace: 'bm' } });
    const latest = server.resourceVersion();
    server.sendBookmarks();
    await c.when.until(() => c.statuses.some((s) => s.type === 'bookmark' && s.resourceVersion === latest), 'the bookmark');
    server.faults.dropWatches();
    server.compact();
    server.setPodPhase('bm', 'driver', 'Succeeded');
    await c.when.until(() => c.phase.get('driver') === 'Succeeded', 'the change after the drop');
    expect(w.stats.expired).toBe(0);
    expect(w.stats.lists).toBe(1);
  });

  it('relists when history is compacted between its list and its first watch', async () => {
    for (const name of ['a', 'b']) await core.createNamespacedPod({ namespace: 'early', body: pod(name) });
    const c = consumer();
    let compacted = false;
    const w = watchPods<V1Pod>({
      kubeConfig: server.kubeConfig(),
      namespace: 'early',
      signal: ac.signal,
      backoff: { initialMs: 5, maxMs: 50 },
      onEvent: c.onEvent,
      onStatus: (s) => {
        if (s.type === 'listed' && !compacted) {
          compacted = true;
          server.setPodPhase('early', 'a', 'Failed');
          server.compact();
        }
        c.onStatus(s);
      },
    });
    await c.when.until(() => c.phase.get('a') === 'Failed', 'the change made before the watch started');
    expect(w.stats.expired).toBe(1);
    expect(c.terminalTransitions.get('a')).toBe(1);
    expect(c.origins).toContain('relist MODIFIED a');
  });

  it('backs off and retries while the apiserver fails, honouring Retry-After', async () => {
    await core.createNamespacedPod({ namespace: 'flaky', body: pod('a') });
    server.faults.internalError(3, { verb: 'list', resource: 'pods' });
    server.faults.throttle(1, { verb: 'watch', resource: 'pods', retryAfterSeconds: 1 });
    const c = consumer();
    const w = watchPods<V1Pod>({ kubeConfig: server.kubeConfig(), namespace: 'flaky', signal: ac.signal, onEvent: c.onEvent, onStatus: c.onStatus, backoff: { initialMs: 5, maxMs: 40 } });
    await w.synced;
    await c.when.until(() => c.statuses.some((s) => s.type === 'watching'), 'a watch that opened');
    const retries = c.statuses.filter((s): s is Extract<WatchStatus, { type: 'retrying' }> => s.type === 'retrying');
    expect(retries.map((r) => r.error.class)).toEqual(['transient', 'transient', 'transient', 'throttled']);
    expect(retries.slice(0, 3).every((r) => r.delayMs <= 40)).toBe(true);
    expect(retries[3]!.delayMs).toBeGreaterThanOrEqual(1000);
    server.setPodPhase('flaky', 'a', 'Succeeded');
    await c.when.until(() => c.phase.get('a') === 'Succeeded', 'the change after recovery');
  });

  it('stops when aborted, and stops with the error when onEvent throws', async () => {
    await core.createNamespacedPod({ namespace: 'stop', body: pod('a') });
    const w = watchPods({ kubeConfig: server.kubeConfig(), namespace: 'stop', signal: ac.signal, onEvent: () => undefined });
    await w.synced;
    ac.abort();
    await expect(w.done).resolves.toBeUndefined();

    const failing = watchResource({
      kubeConfig: server.kubeConfig(),
      path: '/api/v1/namespaces/stop/pods',
      onEvent: () => {
        throw new Error('ledger unavailable');
      },
    });
    await expect(failing.done).rejects.toThrow('ledger unavailable');
    await expect(failing.synced).rejects.toThrow('ledger unavailable');
    expect(server.openWatches()).toBe(0);
  });

  it('pages through a large initial list', async () => {
    for (let i = 0; i < 12; i++) server.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'big' }, spec: { containers: [] } });
    const c = consumer();
    server.resetCalls();
    const w = watchPods<V1Pod>({ kubeConfig: server.kubeConfig(), namespace: 'big', pageSize: 5, signal: ac.signal, onEvent: c.onEvent });
    await w.synced;
    expect(c.phase.size).toBe(12);
    expect(server.countCalls({ verb: 'list', resource: 'pods' })).toBe(3);
    expect(c.origins.every((o) => o.startsWith('initial-list ADDED'))).toBe(true);
  });
});

describe('backoffDelay', () => {
  it.each([
    [0, 0, 50],
    [0, 0.999, 100],
    [3, 0, 400],
    [3, 1, 800],
    [10, 1, 5000],
    [60, 0.5, 3750],
  ])('attempt %i with random %d waits %i ms (initial 100, cap 5000)', (attempt, r, expected) => {
    expect(backoffDelay(attempt, { initialMs: 100, maxMs: 5000 }, () => r)).toBe(expected);
  });
});
