import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setMaxListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { startServe, type RunningServe } from '../../app/cli/serve.js';
import { planWatches } from '../../app/cli/watch-plan.js';
import { functions } from '../../functions/index.js';
import { watchResource, type ResourceWatch } from '../../shared/k8s/watch.js';
import { createDeps } from '../../shared/platform/runtime.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { silentLogger } from '../../shared/logger.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

const NS = 'spark-jobs';
const SYNC_TIMEOUT_MS = 20_000;
const RESOURCES = ['pods', 'resourcequotas', 'sparkapplications'];
const VERBS = ['list', 'watch'] as const;

let apiserver: TestApiserver | undefined;
let serve: RunningServe | undefined;
let dir: string | undefined;
let stop = new AbortController();
setMaxListeners(0, stop.signal);
afterEach(async () => {
  await serve?.close();
  stop.abort();
  stop = new AbortController();
  setMaxListeners(0, stop.signal);
  await apiserver?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  serve = undefined;
  apiserver = undefined;
  dir = undefined;
});

type Obj = { kind?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> } };

function pod(name: string, role?: string) {
  const labels: Record<string, string> = role ? { 'spark-role': role, 'spark-app-selector': `spark-${name}` } : { app: 'other' };
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, spec: { containers: [{ name: 'c', image: 'apache/spark:3.5.1' }] } };
}
const quota = (name: string) => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name, namespace: NS }, spec: { hard: { pods: '10' } } });
const sparkApp = (name: string) => ({ apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', metadata: { name, namespace: NS }, spec: { type: 'Scala' } });

/** A change as a line: what a consumer is told, compared between the shared watch's fan-out and a watch of its own. */
const line = (type: string, o: Obj) => `${type} ${o.kind} ${o.metadata?.name} rv=${o.metadata?.resourceVersion} role=${o.metadata?.labels?.['spark-role'] ?? '-'}`;

describe('sparkfn serve shares one watch per resource', () => {
  it('plans one watch per path for the shipped functions, pods with the selector they all imply', () => {
    const planned = planWatches(functions);
    expect(new Set(planned.map((w) => w.path)).size).toBe(planned.length);
    const pods = planned.find((w) => w.path === '/api/v1/pods');
    expect(pods?.labelSelector).toBe('spark-role');
    expect(pods?.consumers.map((c) => c.fn.name).sort()).toEqual(['job-cost', 'log-archiver', 'spark-monitor', 'spot-fallback']);
    // Those asking for exactly `spark-role` need no filter; the driver and executor watchers filter.
    expect(Object.fromEntries(pods!.consumers.map((c) => [c.fn.name, c.filter !== undefined]))).toEqual({ 'job-cost': false, 'log-archiver': true, 'spark-monitor': false, 'spot-fallback': true });
    const quotas = planned.find((w) => w.path === '/api/v1/resourcequotas');
    expect(quotas?.consumers.map((c) => c.fn.name).sort()).toEqual(['quota-retry', 'spark-monitor']);
    expect(quotas?.labelSelector).toBeUndefined();
  });

  it('opens one list and one watch of pods, quotas and SparkApplications; each function sees what a watch with its own selector shows', async () => {
    apiserver = await startTestApiserver();
    apiserver.put(pod('driver-a', 'driver'));
    apiserver.put(pod('exec-a', 'executor'));
    apiserver.put(pod('moves', 'executor'));
    apiserver.put(pod('unlabelled'));
    apiserver.put(quota('q-first'));

    // Recorders with the shipped functions' names and watch specs; references: a watch per spec, as serve used to open.
    const seen = new Map<string, string[]>();
    const expected = new Map<string, string[]>();
    const record = (into: Map<string, string[]>, key: string, text: string) => into.set(key, [...(into.get(key) ?? []), text]);
    const watching = functions.filter((fn) => (fn.watches ?? []).length > 0);
    const recorders: SparkFunction[] = watching.map((fn) => ({
      name: fn.name,
      triggers: ['k8s-objects'],
      watches: fn.watches!,
      async run(input) {
        if (input.kind === 'k8s-objects') for (const c of input.changes) record(seen, `${fn.name} ${(c.object as Obj).kind}`, line(c.type, c.object as Obj));
        return {};
      },
    }));
    const references: ResourceWatch[] = watching.flatMap((fn) =>
      fn.watches!.map((spec) =>
        watchResource({
          kubeConfig: apiserver!.kubeConfig(),
          path: spec.path,
          ...(spec.labelSelector ? { labelSelector: spec.labelSelector } : {}),
          signal: stop.signal,
          onEvent: (e) => void record(expected, `${fn.name} ${(e.object as Obj).kind}`, line(e.type, e.object as Obj)),
        }),
      ),
    );
    await Promise.all(references.map((r) => r.synced));

    apiserver.addUser('token-serve', 'serve');
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-shared-watch-'));
    const config = loadConfig({ SPARKFN_STORE: `file://${dir}`, SPARKFN_LEADER_ELECTION: 'off' });
    serve = await startServe({ config, functions: recorders, port: 0, host: '127.0.0.1', deps: createDeps(config, { logger: silentLogger }), kubeConfig: apiserver.kubeConfig({ token: 'token-serve' }) });
    const done = async (what: () => boolean, why: () => string) => {
      for (let waited = 0; !what(); waited += 50) {
        if (waited > SYNC_TIMEOUT_MS) throw new Error(`timed out: ${why()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await done(
      () => (seen.get('log-archiver Pod') ?? []).length >= 1 && (seen.get('spot-fallback Pod') ?? []).length >= 2 && (seen.get('quota-retry ResourceQuota') ?? []).length >= 1,
      () => JSON.stringify(Object.fromEntries(seen)),
    );

    // Changes: an object moving between the driver and executor selectors, one gaining and one losing the label, a deletion.
    apiserver.put(pod('driver-b', 'driver'));
    apiserver.setPodPhase(NS, 'driver-a', 'Succeeded');
    apiserver.put(pod('moves', 'driver'));
    apiserver.put(pod('unlabelled', 'executor'));
    apiserver.put(pod('driver-a'));
    apiserver.remove('pods', NS, 'exec-a');
    apiserver.put(quota('q-second'));
    apiserver.put(sparkApp('app-1'));
    // Markers: each consumer has seen everything once it has seen the last object it selects.
    apiserver.put(pod('last-driver', 'driver'));
    apiserver.put(pod('last-executor', 'executor'));
    apiserver.put(quota('q-last'));
    apiserver.put(sparkApp('app-last'));
    const markers: Record<string, string[]> = {
      'job-cost Pod': ['last-driver', 'last-executor'],
      'spark-monitor Pod': ['last-driver', 'last-executor'],
      'log-archiver Pod': ['last-driver'],
      'spot-fallback Pod': ['last-executor'],
      'quota-retry ResourceQuota': ['q-last'],
      'spark-monitor ResourceQuota': ['q-last'],
      'quota-retry SparkApplication': ['app-last'],
      'spark-monitor SparkApplication': ['app-last'],
    };
    const complete = (streams: Map<string, string[]>) => Object.entries(markers).every(([key, names]) => names.every((n) => (streams.get(key) ?? []).some((l) => l.includes(` ${n} `))));
    await done(
      () => complete(seen) && complete(expected),
      () => JSON.stringify({ seen: Object.fromEntries(seen), expected: Object.fromEntries(expected) }),
    );

    expect([...seen.keys()].sort()).toEqual(Object.keys(markers).sort());
    for (const key of Object.keys(markers)) expect(seen.get(key), key).toEqual(expected.get(key));
    // The moves the fan-out translated, as the apiserver does for a watch with the selector.
    expect(seen.get('spot-fallback Pod')!.filter((l) => l.includes(' moves ')).map((l) => l.split(' ')[0])).toEqual(['ADDED', 'DELETED']);
    expect(seen.get('log-archiver Pod')!.filter((l) => l.includes(' moves ')).map((l) => l.split(' ')[0])).toEqual(['ADDED']);
    expect(seen.get('job-cost Pod')!.filter((l) => l.includes(' driver-a ')).map((l) => l.split(' ')[0])).toEqual(['ADDED', 'MODIFIED', 'DELETED']);

    // Serve itself: one list and one watch per resource (the references opened one per selector: four of pods).
    const serveCalls = Object.fromEntries(RESOURCES.flatMap((r) => VERBS.map((v) => [`${v} ${r}`, apiserver!.countCalls({ verb: v, resource: r, user: 'serve' })])));
    expect(serveCalls).toEqual(Object.fromEntries(RESOURCES.flatMap((r) => VERBS.map((v) => [`${v} ${r}`, 1]))));
    expect(apiserver.countCalls({ verb: 'watch', resource: 'pods' }) - serveCalls['watch pods']!).toBe(4);
  }, 60_000);

  it('passes over a change one function keeps failing on, counts it, and still hands it to the others', async () => {
    apiserver = await startTestApiserver();
    apiserver.put(pod('driver-a', 'driver'));
    apiserver.put(pod('exec-a', 'executor'));
    const drivers: string[] = [];
    const breaks: SparkFunction = { name: 'breaks', triggers: ['k8s-objects'], watches: [{ path: '/api/v1/pods', labelSelector: 'spark-role' }], run: async () => Promise.reject(new Error('cannot')) };
    const records: SparkFunction = {
      name: 'records',
      triggers: ['k8s-objects'],
      watches: [{ path: '/api/v1/pods', labelSelector: 'spark-role=driver' }],
      async run(input) {
        if (input.kind === 'k8s-objects') drivers.push(...input.changes.map((c) => `${c.type} ${c.object.metadata.name}`));
        return {};
      },
    };
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-shared-watch-'));
    const config = loadConfig({ SPARKFN_STORE: `file://${dir}`, SPARKFN_LEADER_ELECTION: 'off' });
    serve = await startServe({ config, functions: [breaks, records], port: 0, host: '127.0.0.1', deps: createDeps(config, { logger: silentLogger }), kubeConfig: apiserver.kubeConfig() });
    apiserver.put(pod('driver-b', 'driver'));
    const failures = async () => Number(/^sparkfn_watch_handler_failures_total\{function="breaks"\} (\d+)/m.exec(await (await fetch(`${serve!.url}/metrics`)).text())?.[1] ?? 0);
    for (let waited = 0; drivers.length < 2 || (await failures()) < 3; waited += 100) {
      if (waited > SYNC_TIMEOUT_MS) throw new Error(`timed out: drivers ${JSON.stringify(drivers)}, failures ${await failures()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(drivers).toEqual(['ADDED driver-a', 'ADDED driver-b']);
    // Three pods (two drivers, one executor), each failed every try once; the driver filter never handed over the executor.
    expect(await failures()).toBe(3);
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    expect(metrics).not.toMatch(/^sparkfn_watch_handler_failures_total\{function="records"\} [1-9]/m);
    expect(apiserver.countCalls({ verb: 'watch', resource: 'pods' })).toBe(1);
  }, 60_000);
});
