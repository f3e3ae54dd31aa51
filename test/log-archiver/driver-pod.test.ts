import { afterEach, describe, expect, it } from 'vitest';
import { DRIVER_POD_WATCH, driverPodEnd } from '../../functions/log-archiver/driver-pod.js';
import { fn as archiver, run } from '../../functions/log-archiver/handler.js';
import { startServe, type RunningServe } from '../../app/cli/serve.js';
import { loadConfig } from '../../shared/config.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import type { K8sObject, K8sObjectChange, K8sObjectsInput } from '../../shared/platform/trigger.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { loadEventBytes } from '../support/events.js';
import { APP_ID, batch, depsFor, executorLine, keys, linesOf, record, tempStore, text, withIndexes } from './support.js';

/** The driver pod of events/k8s/pod-watch-event.json, phase and labels changeable. */
function samplePod(change?: (pod: K8sObject & { status: { phase: string } }) => void): K8sObject {
  const input = normalizeTrigger(loadEventBytes('k8s/pod-watch-event')) as K8sObjectsInput;
  const pod = structuredClone(input.changes[0]!.object) as K8sObject & { status: { phase: string } };
  change?.(pod);
  return pod;
}

const OTHER_APP = 'spark-0000000000000000000000000000beef';

/** Chunks for the sample app (driver and executor 1, one re-delivered record) and for another app. */
async function archiveTwoApps(deps: ReturnType<typeof depsFor>): Promise<void> {
  const lines = (executorId: string, appId: string, from: number, n: number, partition: number) =>
    Array.from({ length: n }, (_, i) => record(from + i, executorLine(`${appId} ${executorId} line ${from + i}`, { executorId, appId }), { partition }));
  // A batch, then a re-delivery that overlaps it (split differently), as after a rebalance.
  await run(batch([...lines('1', APP_ID, 0, 5, 0), ...lines('driver', APP_ID, 0, 3, 1)]), deps);
  await run(batch([...lines('1', APP_ID, 3, 4, 0)]), deps);
  await run(batch(lines('1', OTHER_APP, 0, 2, 2)), deps);
}

describe('log-archiver on driver pod changes (k8s-objects)', () => {
  it('reads the end of the app from events/k8s/pod-watch-event.json: its spark-app-selector label is the app id', () => {
    const change = (normalizeTrigger(loadEventBytes('k8s/pod-watch-event')) as K8sObjectsInput).changes[0]!;
    expect(driverPodEnd(change)).toEqual({
      appId: APP_ID,
      end: { reason: 'DriverPodSucceeded', namespace: 'spark-jobs', driverPod: 'spark-pi-4f9c2e7a-driver', appName: 'spark-pi' },
    });
  });

  it.each<[string, K8sObjectChange, string | undefined]>([
    ['Failed', { type: 'MODIFIED', object: samplePod((p) => void (p.status.phase = 'Failed')) }, 'DriverPodFailed'],
    ['deleted while Running', { type: 'DELETED', object: samplePod((p) => void (p.status.phase = 'Running')) }, 'DriverPodDeleted'],
    ['already Succeeded when the watch starts', { type: 'ADDED', object: samplePod() }, 'DriverPodSucceeded'],
    ['Running', { type: 'MODIFIED', object: samplePod((p) => void (p.status.phase = 'Running')) }, undefined],
    ['Pending', { type: 'ADDED', object: samplePod((p) => void (p.status.phase = 'Pending')) }, undefined],
    ['an executor pod that Succeeded', { type: 'MODIFIED', object: samplePod((p) => void (p.metadata.labels!['spark-role'] = 'executor')) }, undefined],
    ['a Succeeded driver that is not a Pod', { type: 'MODIFIED', object: samplePod((p) => void (p.kind = 'Job')) }, undefined],
  ])('a driver pod %s → %s', (_, change, reason) => {
    expect(driverPodEnd(change)?.end.reason).toBe(reason);
  });

  it('does not take an app id that is not a safe key segment from the label', () => {
    const pod = samplePod((p) => void (p.metadata.labels!['spark-app-selector'] = '../etc'));
    expect(driverPodEnd({ type: 'MODIFIED', object: pod })).toEqual({ end: expect.objectContaining({ driverPod: 'spark-pi-4f9c2e7a-driver' }) });
  });

  it('declares the driver pod watch for sparkfn serve and takes k8s-objects', () => {
    expect(archiver.watches).toEqual([{ path: '/api/v1/pods', labelSelector: 'spark-role=driver' }]);
    expect(archiver.triggers).toContain('k8s-objects');
    expect(DRIVER_POD_WATCH.labelSelector).toBe('spark-role=driver');
  });

  it('compacts the ended app, dropping the re-delivered lines, and leaves other apps alone', async () => {
    const { store, cleanup } = await tempStore();
    try {
      const deps = depsFor(store);
      await archiveTwoApps(deps);
      const summary = await run(normalizeTrigger(loadEventBytes('k8s/pod-watch-event')), deps);
      expect(summary).toMatchObject({ kind: 'compaction', trigger: 'app-end', compacted: 2, deleted: 3, dropped: 2, failed: 0 });
      expect(await keys(store, `logs/${APP_ID}/`)).toEqual(withIndexes([`logs/${APP_ID}/1/stderr.log.gz`, `logs/${APP_ID}/driver/stderr.log.gz`]));
      expect(linesOf(await text(store, `logs/${APP_ID}/1/stderr.log.gz`))).toEqual(Array.from({ length: 7 }, (_, i) => `${APP_ID} 1 line ${i}`));
      expect(await keys(store, `logs/${OTHER_APP}/`)).toHaveLength(1);
      expect((await keys(store, `logs/${OTHER_APP}/`))[0]).toMatch(/\/1\/stderr\/spark-logs-2-\d+-\d+\.log\.gz$/);
    } finally {
      await cleanup();
    }
  });

  it('compacts nothing on a driver that is still running', async () => {
    const { store, cleanup } = await tempStore();
    try {
      const deps = depsFor(store);
      await archiveTwoApps(deps);
      const before = await keys(store);
      const running: K8sObjectsInput = { kind: 'k8s-objects', source: 'local', changes: [{ type: 'MODIFIED', object: samplePod((p) => void (p.status.phase = 'Running')) }] };
      expect(await run(running, deps)).toMatchObject({ kind: 'compaction', compacted: 0 });
      expect(await keys(store)).toEqual(before);
    } finally {
      await cleanup();
    }
  });

  it('matches a driver without the app-id label by the pod name its chunks carry', async () => {
    const { store, cleanup } = await tempStore();
    try {
      const deps = depsFor(store);
      const driverPod = 'etl-orders-daily-driver';
      const value = (i: number) =>
        executorLine(`driver line ${i}`, { appId: APP_ID }).toString().replace(/"spark-exec-id":"1"/, '"spark-role-x":"1"').replace(/"spark-role":"executor"/, '"spark-role":"driver"').replace(/"name":"etl-orders-daily-7d3f9a2b1c8e4f60-exec-1"/, `"name":"${driverPod}"`);
      await run(batch([record(0, value(0)), record(1, value(1))]), deps);
      expect(await keys(store, `logs/${APP_ID}/driver/`)).toHaveLength(1);
      const pod = samplePod((p) => {
        delete p.metadata.labels!['spark-app-selector'];
        p.metadata.name = driverPod;
      });
      expect(await run({ kind: 'k8s-objects', source: 'local', changes: [{ type: 'MODIFIED', object: pod }] }, deps)).toMatchObject({ compacted: 1, deleted: 1 });
      expect(linesOf(await text(store, `logs/${APP_ID}/driver/stderr.log.gz`))).toEqual(['driver line 0', 'driver line 1']);
    } finally {
      await cleanup();
    }
  });
});

describe('log-archiver under sparkfn serve with a cluster', () => {
  let apiserver: TestApiserver | undefined;
  let serve: RunningServe | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await serve?.close();
    await apiserver?.stop();
    await cleanup?.();
    serve = apiserver = cleanup = undefined;
  });

  it('compacts an app when the watch sees its driver pod Succeed', async () => {
    const temp = await tempStore();
    cleanup = temp.cleanup;
    const deps = depsFor(temp.store);
    await archiveTwoApps(deps);
    apiserver = await startTestApiserver();
    const pod = samplePod((p) => {
      p.status.phase = 'Running';
      delete p.metadata.resourceVersion;
      delete p.metadata.uid;
    });
    apiserver.put(pod as never);

    // The real function, observed: each run's result is recorded as it resolves.
    const results: unknown[] = [];
    let notify = () => {};
    const observed: SparkFunction = { ...archiver, run: async (input, d) => (results.push(await archiver.run(input, d)), notify(), results.at(-1)) };
    const until = (done: () => boolean, what: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what}: results so far ${JSON.stringify(results)}`)), 10_000);
        notify = () => done() && (clearTimeout(timer), resolve());
        notify();
      });

    const config = loadConfig({ SPARKFN_STORE: 'file:///nonexistent-unused' });
    serve = await startServe({ config, functions: [observed], port: 0, host: '127.0.0.1', deps, kubeConfig: apiserver.kubeConfig() });
    await until(() => results.length >= 1, 'the ADDED Running driver');
    expect(results[0]).toMatchObject({ kind: 'compaction', compacted: 0 });
    expect(await keys(temp.store, `logs/${APP_ID}/1/stderr/`)).toHaveLength(2);

    apiserver.setPodPhase('spark-jobs', pod.metadata.name, 'Succeeded');
    await until(() => results.length >= 2, 'the MODIFIED Succeeded driver');
    expect(results[1]).toMatchObject({ kind: 'compaction', trigger: 'app-end', compacted: 2, deleted: 3 });
    expect(await keys(temp.store, `logs/${APP_ID}/`)).toEqual(withIndexes([`logs/${APP_ID}/1/stderr.log.gz`, `logs/${APP_ID}/driver/stderr.log.gz`]));
    expect(await keys(temp.store, `logs/${OTHER_APP}/`)).toHaveLength(1);
  });
});
