import { describe, expect, it } from 'vitest';
import { run } from '../../functions/spark-monitor/handler.js';
import { ALERTS_PREFIX } from '../../functions/spark-monitor/alerts.js';
import { DEFAULT_MONITOR_SETTINGS, type MonitorSettings } from '../../functions/spark-monitor/settings.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { listAll } from '../../shared/store/read.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { concurrencySeeds, deliverBothWays, storesUnderTest, type DeliveryPlan, type StoreFactory } from '../support/concurrency.js';
import { startAlertReceiver, type AlertReceiver } from '../spark-monitor/alert-receiver.js';
import { appSpec, NOW, objectsOf } from '../spark-monitor/cluster.js';

/** 30 running apps (generator category 0-3) that get stuck one by one, and 30 timer runs between. */
const APPS = Array.from({ length: 30 }, (_, k) => appSpec(Math.floor(k / 4) * 10 + (k % 4)));
const MIN = 60_000;

type Event = { kind: 'stuck'; app: number } | { kind: 'tick'; n: number };

function events(): Event[] {
  const out: Event[] = [];
  for (let k = 0; k < APPS.length; k++) out.push({ kind: 'stuck', app: k }, { kind: 'tick', n: k });
  return out;
}

interface World {
  apiserver: TestApiserver;
  receiver: AlertReceiver;
  store: ObjectStore;
  metrics: Metrics;
  settings: MonitorSettings;
  cleanup(): Promise<void>;
}

interface Snapshot {
  fired: Record<string, number>;
  resolved: Record<string, number>;
  keys: string[];
  refused: number;
}

/** The app's executors all failed 20 minutes ago: the driver has had no running executor since (stuck past the 10 min threshold). */
function makeStuck(apiserver: TestApiserver, k: number): void {
  const app = APPS[k]!;
  for (const pod of app.pods.filter((p) => p.role === 'executor')) {
    apiserver.setPodPhase(app.namespace, pod.name, 'Failed', { containerStatuses: [{ name: 'spark', state: { terminated: { exitCode: 1, finishedAt: new Date(NOW - 20 * MIN).toISOString() } } }] });
  }
}

async function tick(world: World): Promise<void> {
  await run({ kind: 'schedule', source: 'test-timer', time: NOW }, { store: world.store, metrics: world.metrics, logger: silentLogger, clock: { now: () => NOW }, kubeConfig: world.apiserver.kubeConfig() }, world.settings);
}

function plan(makeStore: StoreFactory): DeliveryPlan<Event, World, Snapshot> {
  return {
    events: events(),
    async setUp() {
      const apiserver = await startTestApiserver();
      for (const app of APPS) for (const object of objectsOf({ ...app, pods: app.pods.map((p) => ({ ...p, startedAt: NOW - 60 * MIN })) })) apiserver.put(object as never);
      const receiver = await startAlertReceiver();
      const { store, cleanup } = await makeStore();
      const settings: MonitorSettings = { ...DEFAULT_MONITOR_SETTINGS, alertUrl: receiver.url, alertFormat: 'webhook', logViewerUrl: 'https://sparkfn.example.com' };
      return {
        apiserver,
        receiver,
        store,
        metrics: new Metrics(),
        settings,
        cleanup: async () => {
          await receiver.stop();
          await apiserver.stop();
          await cleanup();
        },
      };
    },
    async deliver(world, event) {
      if (event.kind === 'stuck') makeStuck(world.apiserver, event.app);
      else await tick(world);
    },
    async settle(world) {
      // Every app is stuck by now: one more run sees them all; then they recover and a run resolves them.
      await tick(world);
      for (const app of APPS) for (const pod of app.pods.filter((p) => p.role === 'executor')) world.apiserver.setPodPhase(app.namespace, pod.name, 'Running', { containerStatuses: [] });
      await tick(world);
      await tick(world);
    },
    async snapshot(world) {
      const fired: Record<string, number> = {};
      const resolved: Record<string, number> = {};
      for (const body of world.receiver.bodies) {
        const into = body.status === 'resolved' ? resolved : fired;
        const condition = String(body.condition);
        into[condition] = (into[condition] ?? 0) + 1;
        if (body.status === 'firing') expect(body.link).toMatch(/^https:\/\/sparkfn\.example\.com\/logs\/spark-\d{4}$/);
      }
      const keys: string[] = [];
      for await (const object of listAll(world.store, ALERTS_PREFIX)) keys.push(object.key);
      return { fired, resolved, keys: keys.sort(), refused: world.receiver.refused };
    },
    async tearDown(world) {
      await world.cleanup();
    },
  };
}

const conditions = APPS.map((a) => `stuck-app~${a.namespace}~${a.appId}`).sort();
const once = Object.fromEntries(conditions.map((c) => [c, 1]));
const expectedKeys = conditions.flatMap((c) => [`${ALERTS_PREFIX}${c}/000000.json`, `${ALERTS_PREFIX}${c}/000000.resolved.json`]).sort();

describe.each(storesUnderTest())('spark-monitor alerts under concurrency on %s', (_, makeFactory) => {
  it.each(concurrencySeeds())('sends one firing and one resolved message per stuck app, one by one and all at once, each twice (seed %i)', async (seed) => {
    const { oneByOne, allAtOnce } = await deliverBothWays(plan(makeFactory()), seed);
    const expected: Snapshot = { fired: once, resolved: once, keys: expectedKeys, refused: 0 };
    expect(oneByOne, `seed ${seed}`).toEqual(expected);
    expect(allAtOnce, `seed ${seed}`).toEqual(expected);
  }, 120_000);
});
