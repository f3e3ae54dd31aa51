import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { CostRecord } from '../../functions/job-cost/cost-record.js';
import { run, type CostRunSummary } from '../../functions/job-cost/handler.js';
import { Ledger, type LedgerPod } from '../../functions/job-cost/ledger.js';
import type { CostSettings } from '../../functions/job-cost/settings.js';
import { ManualClock } from '../../shared/clock.js';
import type { Deps } from '../../shared/deps.js';
import { createLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import type { K8sObject, TriggerInput } from '../../shared/platform/trigger.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { concurrencySeeds, deliverAll, storesUnderTest, type DeliveryPlan, type StoreFactory } from '../support/concurrency.js';
import { settings as costSettings } from '../job-cost/support.js';

/** Both deliveries of one seed: on s3rver, on a shared machine, a few hundred requests each take their time. */
const SEED_TIMEOUT_MS = 300_000;
const NS = 'spark-jobs';
const APP = 'spark-7c1e0d9a44b2';
const APP_NAME = 'etl-concurrent';
const T0 = Date.UTC(2026, 0, 2, 10, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const EXECUTORS = 20;
const DRIVER = `${APP_NAME}-driver`;
const execName = (i: number) => `${APP_NAME}-3f9a-exec-${i}`;
// Executor i runs from 10 + i s to 300 + 7 i s; every third is degraded to on-demand, every seventh reclaimed.
const execStart = (i: number) => 10 + i;
const execEnd = (i: number) => 300 + 7 * i;
const degraded = (i: number) => i % 3 === 0;
const reclaimed = (i: number) => i % 7 === 0;
const operatorDated = (i: number) => i % 2 === 0;

/** One delivery: a trigger input, and whether it is a ledger fact (for the request count). */
interface Delivery {
  name: string;
  input: TriggerInput;
  fact: boolean;
}

function podObject(name: string, role: 'driver' | 'executor', phase: string, status: Record<string, unknown>, execId?: string): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      creationTimestamp: at(role === 'driver' ? -5 : 5),
      labels: {
        'spark-app-selector': APP,
        'spark-role': role,
        'sparkoperator.k8s.io/app-name': APP_NAME,
        team: 'data-platform',
        ...(execId ? { 'spark-exec-id': execId } : {}),
      },
      annotations: { 'k8s.aliyun.com/eci-instance-spec': '2.0-4.0Gi', ...(role === 'executor' ? { 'k8s.aliyun.com/eci-spot-strategy': 'SpotAsPriceGo' } : {}) },
    },
    spec: { containers: [{ name: 'spark', resources: { requests: { cpu: role === 'driver' ? '1' : '2', memory: role === 'driver' ? '1408Mi' : '3456Mi' } } }] },
    status: { phase, ...status },
  };
}

const terminated = (s: number) => ({ containerStatuses: [{ name: 'spark', state: { terminated: { exitCode: 0, finishedAt: at(s) } } }] });
const change = (name: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: K8sObject, fact = true): Delivery => ({ name, input: { kind: 'k8s-objects', source: 'test', changes: [{ type, object }] }, fact });

function event(name: string, involved: { kind: string; name: string }, reason: string, message: string, seconds: number): CoreV1Event {
  return {
    metadata: { name, namespace: NS, uid: `uid-${name}` },
    involvedObject: { ...involved, namespace: NS, apiVersion: involved.kind === 'Pod' ? 'v1' : 'sparkoperator.k8s.io/v1beta2' },
    reason,
    message,
    type: 'Normal',
    count: 1,
    firstTimestamp: new Date(T0 + seconds * 1000),
    lastTimestamp: new Date(T0 + seconds * 1000),
  };
}
const eventDelivery = (name: string, e: CoreV1Event, fact = true): Delivery => ({ name, input: { kind: 'k8s-events', source: 'test', events: [e] }, fact });

const appEndPost: Delivery = {
  name: 'POST app-end',
  input: { kind: 'http', source: 'test', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {}, body: Buffer.from(JSON.stringify({ appId: APP, namespace: NS, endTime: T0 + 600_000 })) },
  fact: false,
};

/** The app's life as the pod watch and the event sources tell it, in the order it happened. */
function appEvents(): Delivery[] {
  const out: Delivery[] = [];
  out.push(change('driver pending', 'ADDED', podObject(DRIVER, 'driver', 'Pending', {})));
  out.push(change('driver running', 'MODIFIED', podObject(DRIVER, 'driver', 'Running', { startTime: at(0) })));
  for (let i = 1; i <= EXECUTORS; i++) {
    out.push(change(`exec-${i} running`, 'MODIFIED', podObject(execName(i), 'executor', 'Running', { startTime: at(execStart(i)) }, String(i))));
    if (operatorDated(i)) out.push(eventDelivery(`exec-${i} SparkExecutorRunning`, event(`${APP_NAME}.exec-${i}.running`, { kind: 'SparkApplication', name: APP_NAME }, 'SparkExecutorRunning', `Executor [${execName(i)}] is running`, execStart(i) + 1)));
    if (degraded(i)) out.push(eventDelivery(`exec-${i} SpotDegraded`, event(`${execName(i)}.degraded`, { kind: 'Pod', name: execName(i) }, 'SpotDegraded', 'Spot instance out of stock, degraded to on-demand', execStart(i))));
    if (reclaimed(i)) out.push(eventDelivery(`exec-${i} SpotToBeReleased`, event(`${execName(i)}.released`, { kind: 'Pod', name: execName(i) }, 'SpotToBeReleased', 'Spot ECI will be released in 3 minutes', execEnd(i) - 180)));
  }
  for (let i = 1; i <= EXECUTORS; i++) out.push(change(`exec-${i} done`, 'MODIFIED', podObject(execName(i), 'executor', reclaimed(i) ? 'Failed' : 'Succeeded', { startTime: at(execStart(i)), ...terminated(execEnd(i)) }, String(i))));
  // The driver's terminal change is a fact and an end at once.
  out.push(change('driver done', 'MODIFIED', podObject(DRIVER, 'driver', 'Succeeded', { startTime: at(0), ...terminated(600) }), false));
  out.push(eventDelivery('SparkApplicationCompleted', event(`${APP_NAME}.completed`, { kind: 'SparkApplication', name: APP_NAME }, 'SparkApplicationCompleted', `SparkApplication ${APP_NAME} completed`, 601), false));
  out.push(appEndPost);
  out.push(change('driver deleted', 'DELETED', podObject(DRIVER, 'driver', 'Succeeded', { startTime: at(0), ...terminated(600) }), false));
  return out;
}

/** Every store call, counted by method, passed through to the store. */
function counting(store: ObjectStore): { store: ObjectStore; calls: () => number } {
  let calls = 0;
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'constructor') return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls: () => calls };
}

interface World {
  deps: Deps;
  raw: ObjectStore;
  calls: () => number;
  cleanup(): Promise<void>;
  settings: CostSettings;
  summaries: CostRunSummary[];
  factRequests: number;
  factDeliveries: number;
}

interface Snapshot {
  ledger: [string, string][];
  pods: LedgerPod[];
  records: [string, CostRecord][];
  counts: Record<string, number>;
  ledgerWritesMetric: string[];
}

async function objects(store: ObjectStore, prefix: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const o of listAll(store, prefix)) out.push([o.key, (await getBuffer(store, o.key)).toString('utf8')]);
  return out.sort(([a], [b]) => (a < b ? -1 : 1));
}

function plan(events: readonly Delivery[], factory: StoreFactory): DeliveryPlan<Delivery, World, Snapshot> {
  return {
    events,
    async setUp() {
      const { store, cleanup } = await factory();
      const { store: counted, calls } = counting(store);
      const deps: Deps = { store: counted, clock: new ManualClock(T0 + 3_600_000), logger: createLogger('silent'), metrics: new Metrics() };
      return { deps, raw: store, calls, cleanup, settings: await costSettings(), summaries: [], factRequests: 0, factDeliveries: 0 };
    },
    async deliver(world, delivery) {
      const before = world.calls();
      world.summaries.push(await run(delivery.input, world.deps, world.settings));
      if (delivery.fact) {
        world.factRequests += world.calls() - before;
        world.factDeliveries++;
      }
    },
    // The record is final once an end signal is handled after the last fact (README: late facts).
    async settle(world) {
      await run(appEndPost.input, world.deps, world.settings);
    },
    async snapshot(world) {
      const sum = (k: keyof CostRunSummary) => world.summaries.reduce((n, s) => n + (s[k] as number), 0);
      const metrics = await world.deps.metrics.text();
      return {
        ledger: await objects(world.raw, 'ledger/'),
        pods: await new Ledger(world.raw).podsOf(NS, APP),
        records: (await objects(world.raw, 'costs/')).map(([k, v]) => [k, JSON.parse(v) as CostRecord]),
        // Whether a SparkApplication end finds its app id depends on whether a pod fact came
        // first (README: unresolved ends), and an end handled before any fact of its app has
        // nothing to cost it from (a failed end, recosted by the next end signal); every end is
        // recorded, unresolved or failed for want of a source, and nothing fails otherwise.
        counts: { ledgerWritten: sum('ledgerWritten'), ledgerUnchanged: sum('ledgerUnchanged'), ledgerPending: sum('ledgerPending'), ignored: sum('ignored'), failedOtherwise: world.summaries.flatMap((s) => s.failures).filter((f) => !f.includes('Neither an event log')).length, endsHandled: sum('recorded') + sum('unresolved') + sum('failed') },
        ledgerWritesMetric: metrics.split('\n').filter((l) => l.startsWith('sparkfn_job_cost_ledger_writes_total')),
      };
    },
    async tearDown(world) {
      await world.cleanup();
    },
  };
}

/** Lifetimes by hand: executor i from execStart(i) to execEnd(i). */
const executorSeconds = Array.from({ length: EXECUTORS }, (_, k) => execEnd(k + 1) - execStart(k + 1)).reduce((a, b) => a + b, 0);

describe.each(storesUnderTest())('job-cost under concurrency on %s', (_, makeFactory) => {
  const events = appEvents();

  it('has at least 50 events touching one app', () => {
    expect(events.length).toBeGreaterThanOrEqual(50);
  });

  it.each(concurrencySeeds())('ends in the same ledger, record, counts and metrics one by one and all at once (seed %i)', async (seed) => {
    const factory = makeFactory();
    const p = plan(events, factory);
    const oneByOne = await deliverAll(p, 'one-by-one', seed);
    const allAtOnce = await deliverAll(p, 'all-at-once', seed);
    expect(allAtOnce, `seed ${seed}: all at once differs from one by one`).toEqual(oneByOne);

    // And right: every fact is there, and the record is what the facts say.
    expect(oneByOne.pods, `seed ${seed}`).toHaveLength(EXECUTORS + 1);
    for (let i = 1; i <= EXECUTORS; i++) {
      const pod = oneByOne.pods.find((x) => x.podName === execName(i));
      expect(pod, `seed ${seed}: ${execName(i)}`).toMatchObject({ start: T0 + execStart(i) * 1000, end: T0 + execEnd(i) * 1000, executorId: String(i), phase: reclaimed(i) ? 'Failed' : 'Succeeded' });
      expect(pod?.degradedAt !== undefined, `seed ${seed}: ${execName(i)} degraded`).toBe(degraded(i));
      expect(pod?.reclaimedAt !== undefined, `seed ${seed}: ${execName(i)} reclaimed`).toBe(reclaimed(i));
    }
    expect(oneByOne.records.map(([k]) => k)).toEqual([`costs/dt=2026-01-02/${NS}/${APP}.json`]);
    const record = oneByOne.records[0]![1];
    expect(record, `seed ${seed}`).toMatchObject({ source: 'ledger', incomplete: false, executors: EXECUTORS, executorSeconds, errors: [] });
    // The driver was seen Pending, before it had a startTime: its start is its creation, 5 s before.
    expect(record.driver).toMatchObject({ seconds: 605 });
    const degradedPods = record.pods.filter((x) => x.role === 'executor' && x.degraded);
    expect(degradedPods.map((x) => x.podName).sort()).toEqual(Array.from({ length: EXECUTORS }, (_, k) => k + 1).filter(degraded).map(execName).sort());
    expect(oneByOne.counts).toMatchObject({ failedOtherwise: 0, ignored: 0 });
  }, SEED_TIMEOUT_MS);

  it('writes at most 2 store requests per ledger fact', async () => {
    const p = plan(events, makeFactory());
    const world = await p.setUp(() => 0);
    try {
      for (const e of events) await p.deliver(world, e);
      const perFact = world.factRequests / world.factDeliveries;
      console.info(`job-cost: ${world.factRequests} store requests for ${world.factDeliveries} ledger facts (${perFact.toFixed(2)} per fact)`);
      expect(perFact).toBeLessThanOrEqual(2);
    } finally {
      await p.tearDown(world);
    }
  });
});
