import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe, type RunningServe } from '../../app/cli/serve.js';
import { loadConfig } from '../../shared/config.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { createMonitorFunction, run } from '../../functions/spark-monitor/handler.js';
import { DEFAULT_MONITOR_SETTINGS, type MonitorSettings } from '../../functions/spark-monitor/settings.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { allApps, appSpec, expectedSeries, loadCluster, NOW, objectsOf, parseMonitorGauges, TOP_N, writeStoreSignals, type AppSpec } from './cluster.js';

/** The timer evaluates the watched model this often in the test (the default is a minute). */
const TEST_EVERY_MS = 100;
const WAIT_MS = 30_000;
const settings: MonitorSettings = { ...DEFAULT_MONITOR_SETTINGS, topN: TOP_N, everyMs: TEST_EVERY_MS };

let apiserver: TestApiserver | undefined;
let serve: RunningServe | undefined;
let dir: string | undefined;
afterEach(async () => {
  await serve?.close();
  await apiserver?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  serve = apiserver = dir = undefined;
});

const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort());

/** The monitor, telling the test after each of its runs (a watched change or a timer run). */
function observed(): { fn: SparkFunction; until(done: () => Promise<boolean>, what: string): Promise<void> } {
  const inner = createMonitorFunction({ settings });
  let notify: () => void = () => undefined;
  const fn: SparkFunction = {
    ...inner,
    scheduleEveryMs: TEST_EVERY_MS,
    run: async (input, deps) => {
      try {
        return await inner.run(input, deps);
      } finally {
        if (input.kind === 'schedule') notify();
      }
    },
  };
  const until = (done: () => Promise<boolean>, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
      let checking = false;
      notify = () => {
        if (checking) return;
        checking = true;
        void done().then(
          (ok) => {
            checking = false;
            if (ok) {
              clearTimeout(timer);
              notify = () => undefined;
              resolve();
            }
          },
          (err: unknown) => {
            clearTimeout(timer);
            reject(err as Error);
          },
        );
      };
    });
  return { fn, until };
}

/** The app finished half an hour ago: its executors are gone, its driver Succeeded (its SparkApplication COMPLETED), its ConfigMap and Service left. */
function finishedNow(app: AppSpec): AppSpec {
  const driver = app.pods.find((p) => p.role === 'driver')!;
  return {
    ...app,
    category: 'finished',
    endedAt: NOW - 30 * 60_000,
    pods: [{ ...driver, phase: 'Succeeded', endedAt: NOW - 30 * 60_000 }],
    ...(app.sparkApp ? { sparkApp: { state: 'COMPLETED', submitted: true } } : {}),
  };
}

describe('spark-monitor under sparkfn serve (watches)', () => {
  it('shows the known state of 1,000 apps, and a relist after a 410 rebuilds the numbers of the changed cluster', async () => {
    apiserver = await startTestApiserver();
    apiserver.addUser('monitor-token', 'monitor');
    const apps = allApps();
    loadCluster(apiserver, apps);
    dir = await mkdtemp(join(tmpdir(), 'spark-monitor-serve-'));
    const store = new FileObjectStore(dir);
    await writeStoreSignals(store, apps);
    const config = loadConfig({ SPARKFN_STORE: `file://${dir}`, SPARKFN_LEADER_ELECTION: 'off' });
    const { fn, until } = observed();
    serve = await startServe({
      config,
      functions: [fn],
      port: 0,
      host: '127.0.0.1',
      deps: createDeps(config, { logger: silentLogger, clock: { now: () => NOW }, store }),
      kubeConfig: apiserver.kubeConfig({ token: 'monitor-token' }),
    });
    const scrape = async () => parseMonitorGauges(await (await fetch(`${serve!.url}/metrics`)).text());

    const expected = expectedSeries(apps);
    let last = new Map<string, number>();
    await until(async () => {
      last = await scrape();
      return JSON.stringify(sorted(last)) === JSON.stringify(sorted(expected));
    }, 'the watched model to show the cluster').catch(() => undefined);
    expect(sorted(last)).toEqual(sorted(expected));
    const listsBefore = apiserver.countCalls({ verb: 'list', resource: 'pods' });

    // Cut the monitor off, change the cluster while it cannot see, forget the history: its watches must get 410 and relist.
    apiserver.faults.cutConnections('monitor', 'hang');
    apiserver.faults.dropWatches();
    const changed = new Map(apps.map((a) => [a.index, a]));
    for (const i of [10, 11, 12, 13, 20, 21, 22, 23, 30, 31]) {
      const app = finishedNow(appSpec(i));
      for (const pod of appSpec(i).pods.filter((p) => p.role === 'executor')) apiserver.remove('pods', app.namespace, pod.name);
      for (const object of objectsOf(app)) apiserver.put(object as never);
      changed.set(i, app);
    }
    for (const i of [8, 18, 28, 38, 48]) {
      for (const object of objectsOf(appSpec(i))) {
        const meta = object.metadata as { name: string; namespace: string };
        apiserver.remove(String(object.kind), meta.namespace, meta.name);
      }
      changed.delete(i);
    }
    // New running apps (categories 0-3 of the generator) whose objects the stream never delivered.
    for (const i of [1000, 1001, 1002, 1003, 1010, 1011, 1012, 1013, 1020, 1021]) {
      const app = appSpec(i);
      for (const object of objectsOf(app)) apiserver.put(object as never);
      changed.set(i, app);
    }
    apiserver.compact();
    apiserver.faults.restoreConnections('monitor');

    const after = [...changed.values()];
    const expectedAfter = expectedSeries(after);
    expect(sorted(expectedAfter)).not.toEqual(sorted(expected));
    await until(async () => {
      last = await scrape();
      return JSON.stringify(sorted(last)) === JSON.stringify(sorted(expectedAfter));
    }, 'the relisted model to show the changed cluster').catch(() => undefined);
    expect(sorted(last)).toEqual(sorted(expectedAfter));
    expect(apiserver.countCalls({ verb: 'list', resource: 'pods' })).toBeGreaterThan(listsBefore);

    // The list snapshot path (FC / Lambda) sees the same numbers.
    const listed = new Metrics();
    await run({ kind: 'schedule', source: 'test-timer', time: NOW }, { store, metrics: listed, logger: silentLogger, clock: { now: () => NOW }, kubeConfig: apiserver.kubeConfig() }, settings);
    expect(sorted(parseMonitorGauges(await listed.text()))).toEqual(sorted(last));
  });
});
