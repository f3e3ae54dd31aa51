import { CoreV1Api, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchPods, watchResource } from '../../shared/k8s/watch.js';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import { getBuffer } from '../../shared/store/read.js';
import type { K8sObject } from '../../shared/platform/trigger.js';
import { run, type CostRunSummary } from '../../functions/job-cost/handler.js';
import type { CostRecord } from '../../functions/job-cost/cost-record.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { startS3rver, type S3rverHarness } from '../support/s3rver.js';
import { fixture, lz4BlockEncode, settings, testDeps } from './support.js';

const NS = 'spark-e2e';
const APP = 'spark-0a1b2c3d4e5f';
const T0 = Date.UTC(2026, 0, 2, 10, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
/** Upper bound for any single wait; every wait is event-driven. */
const WAIT_MS = 10_000;

function pod(name: string, role: 'driver' | 'executor', extra: { execId?: string; spot?: boolean } = {}): V1Pod {
  return {
    metadata: {
      name,
      labels: {
        'spark-app-selector': APP,
        'spark-role': role,
        'sparkoperator.k8s.io/app-name': 'etl-e2e',
        team: 'data-platform',
        ...(extra.execId ? { 'spark-exec-id': extra.execId } : {}),
      },
      annotations: {
        'k8s.aliyun.com/eci-instance-spec': '2.0-4.0Gi',
        ...(extra.spot ? { 'k8s.aliyun.com/eci-spot-strategy': 'SpotAsPriceGo' } : {}),
      },
    },
    spec: { containers: [{ name: 'spark', image: 'spark:3.5', resources: { requests: { cpu: role === 'driver' ? '1' : '2', memory: role === 'driver' ? '1408Mi' : '3456Mi' } } }] },
  };
}

function eciEvent(podName: string, reason: string, seconds: number): CoreV1Event {
  return {
    metadata: { name: `${podName}.${reason.toLowerCase()}`, namespace: NS },
    involvedObject: { kind: 'Pod', namespace: NS, name: podName, apiVersion: 'v1' },
    reason,
    message: reason === 'SpotDegraded' ? 'Spot instance out of stock, degraded to on-demand' : 'Spot ECI will be released in 3 minutes',
    source: { component: 'EciService' },
    type: 'Warning',
    count: 1,
    firstTimestamp: new Date(T0 + seconds * 1000),
    lastTimestamp: new Date(T0 + seconds * 1000),
  };
}

/** The app's event log: what Spark would write, with real task events from a fixture in between. */
async function eventLog(): Promise<Buffer> {
  const tasks = (await fixture('application_1506645932520_24630151'))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.includes('"SparkListenerTaskEnd"') || l.includes('SQLExecutionStart'));
  const e = (event: object) => JSON.stringify(event);
  const executorAdded = (id: string, s: number) => e({ Event: 'SparkListenerExecutorAdded', Timestamp: T0 + s * 1000, 'Executor ID': id, 'Executor Info': { Host: `10.0.0.${id}`, 'Total Cores': 2, 'Resource Profile Id': 0 } });
  return Buffer.from(
    [
      e({ Event: 'SparkListenerLogStart', 'Spark Version': '3.5.1' }),
      e({ Event: 'SparkListenerApplicationStart', 'App Name': 'etl-e2e', 'App ID': APP, Timestamp: T0 + 5000, User: 'spark' }),
      e({ Event: 'SparkListenerEnvironmentUpdate', 'Spark Properties': { 'spark.executor.memory': '3g', 'spark.executor.cores': '2', 'spark.driver.memory': '1g', 'spark.master': 'k8s://https://10.0.0.1:6443' } }),
      executorAdded('1', 40),
      executorAdded('2', 40),
      executorAdded('3', 40),
      ...tasks,
      e({ Event: 'SparkListenerExecutorRemoved', Timestamp: T0 + 320_000, 'Executor ID': '3', 'Removed Reason': 'The executor with id 3 was deleted by a user or the framework.' }),
      ...tasks,
      e({ Event: 'SparkListenerApplicationEnd', Timestamp: T0 + 595_000 }),
      '',
    ].join('\n'),
  );
}

describe('job-cost end to end: pod watch from the test apiserver, event log in s3rver', () => {
  let server: TestApiserver;
  let s3: S3rverHarness;
  beforeAll(async () => {
    [server, s3] = await Promise.all([startTestApiserver(), startS3rver()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), s3?.stop()]);
  });

  it('turns a driver, a spot executor, a degraded one and a reclaimed one into one record derived by hand', async () => {
    const bucket = await s3.createBucket();
    const store = new S3ObjectStore({ bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials, region: 'us-east-1' });
    await store.put(`spark-events/${APP}.lz4`, lz4BlockEncode(await eventLog()));
    const deps = testDeps(store);
    const options = await settings();
    const results: CostRunSummary[] = [];
    let handled = 0;
    const waiters: { check: () => boolean; resolve: () => void }[] = [];
    const notify = () => {
      for (const w of [...waiters]) if (w.check()) waiters.splice(waiters.indexOf(w), 1) && w.resolve();
    };
    const until = (check: () => boolean, what: string) =>
      check()
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
            waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
          });

    const stop = new AbortController();
    const pods = watchPods<K8sObject>({
      kubeConfig: server.kubeConfig(),
      namespace: NS,
      labelSelector: 'spark-role',
      signal: stop.signal,
      timeoutSeconds: 60,
      onEvent: async (event) => {
        results.push(await run({ kind: 'k8s-objects', source: 'k8s:watch', changes: [{ type: event.type, object: event.object }] }, deps, options));
        handled++;
        notify();
      },
    });
    const events = watchResource<CoreV1Event & { metadata: { name: string } }>({
      kubeConfig: server.kubeConfig(),
      path: `/api/v1/namespaces/${NS}/events`,
      signal: stop.signal,
      timeoutSeconds: 60,
      onEvent: async (event) => {
        results.push(await run({ kind: 'k8s-events', source: 'k8s:watch', events: [event.object] }, deps, options));
        handled++;
        notify();
      },
    });
    await Promise.all([pods.synced, events.synced]);

    const core = server.kubeConfig().makeApiClient(CoreV1Api);
    const step = async (what: string, act: () => unknown) => {
      const before = handled;
      await act();
      await until(() => handled > before, what);
    };
    await step('driver created', () => core.createNamespacedPod({ namespace: NS, body: pod('etl-e2e-driver', 'driver') }));
    await step('driver running', () => server.setPodPhase(NS, 'etl-e2e-driver', 'Running', { startTime: at(0) }));
    for (const id of ['1', '2', '3']) {
      const name = `etl-e2e-exec-${id}`;
      await step(`${name} created`, () => core.createNamespacedPod({ namespace: NS, body: pod(name, 'executor', { execId: id, spot: true }) }));
      await step(`${name} running`, () => server.setPodPhase(NS, name, 'Running', { startTime: at(30) }));
    }
    await step('SpotDegraded', () => core.createNamespacedEvent({ namespace: NS, body: eciEvent('etl-e2e-exec-2', 'SpotDegraded', 31) }));
    await step('SpotToBeReleased', () => core.createNamespacedEvent({ namespace: NS, body: eciEvent('etl-e2e-exec-3', 'SpotToBeReleased', 150) }));
    const terminated = (s: number) => ({ containerStatuses: [{ name: 'spark', state: { terminated: { exitCode: 0, finishedAt: at(s) } } }] });
    await step('exec-3 reclaimed', () => server.setPodPhase(NS, 'etl-e2e-exec-3', 'Failed', terminated(330)));
    await step('exec-3 deleted', () => server.remove('pods', NS, 'etl-e2e-exec-3'));
    await step('exec-1 done', () => server.setPodPhase(NS, 'etl-e2e-exec-1', 'Succeeded', terminated(590)));
    await step('exec-2 done', () => server.setPodPhase(NS, 'etl-e2e-exec-2', 'Succeeded', terminated(590)));
    await step('driver done', () => server.setPodPhase(NS, 'etl-e2e-driver', 'Succeeded', terminated(600)));
    // A duplicate end signal: the same driver change delivered again (an HTTP POST from the listener).
    results.push(await run({ kind: 'http', source: 'test', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {}, body: Buffer.from(JSON.stringify({ appId: APP, namespace: NS, endTime: T0 + 600_000 })) }, deps, options));
    stop.abort();
    await Promise.all([pods.done, events.done]);

    const recorded = results.filter((r) => r.recorded > 0);
    expect(recorded).toHaveLength(2);
    expect(new Set(recorded.map((r) => r.records[0]!.key))).toEqual(new Set([`costs/dt=2026-01-02/${NS}/${APP}.json`]));
    const keys: string[] = [];
    for (let token: string | undefined, i = 0; i < 10; i++) {
      const page = await store.list('costs/', token ? { token } : {});
      keys.push(...page.objects.map((o) => o.key));
      if (!(token = page.nextToken)) break;
    }
    expect(keys).toEqual([`costs/dt=2026-01-02/${NS}/${APP}.json`]);

    const record = JSON.parse((await getBuffer(store, keys[0]!)).toString('utf8')) as CostRecord;
    // By hand. Billed spec 2.0-4.0Gi on every pod: 2 × 0.00005 + 4 × 0.000005 = 0.00012 CNY/s.
    // Lifetimes from the ledger (it sees billing end): driver 0→600 s; exec-1, exec-2 30→590 s = 560 s;
    // exec-3 30→330 s = 300 s (the log's ExecutorRemoved at 320 s is earlier than ECI's release).
    // Executor requests from the log: 2 cores, 3g + max(0.1 × 3g, 384 MiB) = 3456 MiB = 3.375 GiB.
    expect(record).toMatchObject({
      appId: APP,
      appName: 'etl-e2e',
      namespace: NS,
      labels: { team: 'data-platform' },
      start: at(5),
      end: at(595),
      executors: 3,
      executorSeconds: 1420,
      vcpuSeconds: 2840,
      gibSeconds: 4792.5,
      driver: { seconds: 600, vcpuSeconds: 600, gibSeconds: 825 },
      source: 'event-log+ledger',
      incomplete: false,
      upperBound: true,
      pricingVersion: 'sample-2026-01',
      region: 'cn-hangzhou',
      errors: [],
    });
    // driver on-demand 600 × 0.00012 = 0.072; exec-1 spot ≤ 560 × 0.00012 = 0.0672 (expected × 0.3 = 0.02016);
    // exec-2 degraded: on-demand 0.0672; exec-3 spot, reclaimed ≤ 300 × 0.00012 = 0.036 (expected 0.0108).
    const c = record.cost!;
    expect(c.currency).toBe('CNY');
    expect(c.driver).toBeCloseTo(0.072, 9);
    expect(c.executors).toBeCloseTo(0.0672 + 0.0672 + 0.036, 9);
    expect(c.onDemand).toBeCloseTo(0.072 + 0.0672, 9);
    expect(c.spot).toBeCloseTo(0.0672 + 0.036, 9);
    expect(c.spotExpected).toBeCloseTo(0.02016 + 0.0108, 9);
    expect(c.total).toBeCloseTo(0.2424, 9);
    expect(c.expected).toBeCloseTo(0.17016, 9);
    const exec = (id: string) => record.pods.find((p) => p.executorId === id)!;
    expect(exec('2')).toMatchObject({ degraded: true, spot: true, reclaimed: false, onDemand: 0.0672, spotUpper: 0 });
    expect(exec('3')).toMatchObject({ reclaimed: true, seconds: 300, lifetimeFrom: 'ledger' });
  });
});
