import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClients } from '../../shared/k8s/client.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { type AppIdSource, identityFromSparkProperties, resolveAppId, sparkApplicationNameOf } from '../../shared/spark/app-identity.js';
import { readOperatorEvent } from '../../shared/spark/operator-events.js';
import { SPARK_APPLICATION_API, sparkApplicationSource } from '../../shared/spark/spark-application-lookup.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { readEvent } from '../../functions/job-cost/end-signals.js';
import { eventLogPropertiesSource, MAX_HEADS_READ } from '../../functions/job-cost/event-log-identity.js';
import { EventLogSummary } from '../../functions/job-cost/event-log-summary.js';
import { readEventLines } from '../../functions/job-cost/event-log-lines.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { loadEvent } from '../support/events.js';
import { chunks, fixture, PI_APP_ID, PI_LOG_KEY, piEventLog, tempStore } from './support.js';

const NS = 'spark-team-a';
const APP = 'spark-pi-python';
const EXEC = 'pythonpi-009fa697a98f0548-exec-1';
/** The real app's end (ApplicationEnd), and its event's time a few seconds later. */
const APP_END_MS = 1750896418590;

function operatorEvent(reason: string, message: string, extra: Partial<CoreV1Event> = {}): CoreV1Event {
  return {
    metadata: { name: `${APP}.1`, namespace: NS, uid: 'u-1' },
    involvedObject: { kind: 'SparkApplication', namespace: NS, name: APP, apiVersion: 'sparkoperator.k8s.io/v1beta2' },
    reason,
    message,
    lastTimestamp: new Date('2025-06-26T00:06:56Z'),
    ...extra,
  } as CoreV1Event;
}

describe('spark-operator event strings, as each release formats them', () => {
  // Built from the operator's source: v1beta2-1.3.8 passes its argument slice to one %s
  // (Eventf(app, …, "Executor %s completed", args)); v2.5.2 spreads it (args...); main records
  // through events.k8s.io with the sentence as `action` and the app name as `note`
  // (Eventf(app, nil, type, reason, "Executor %s is running", app.Name, args...)).
  it.each([
    ['v1beta2-1.3.8 running', 'SparkExecutorRunning', `Executor [${EXEC}] is running`, 'start'],
    ['v1beta2-1.3.8 completed', 'SparkExecutorCompleted', `Executor [${EXEC}] completed`, 'end'],
    ['v1beta2-1.3.8 failed', 'SparkExecutorFailed', `Executor [${EXEC} %!s(int32=143) Error] failed with ExitCode: %!d(MISSING), Reason: %!s(MISSING)`, 'end'],
    ['v2.5.2 running', 'SparkExecutorRunning', `Executor ${EXEC} is running`, 'start'],
    ['v2.5.2 completed', 'SparkExecutorCompleted', `Executor ${EXEC} completed`, 'end'],
    ['v2.5.2 failed', 'SparkExecutorFailed', `Executor ${EXEC} failed with ExitCode: 143, Reason: Error, Pod Message: `, 'end'],
    ['main running', 'SparkExecutorRunning', `${APP}%!(EXTRA string=${EXEC})`, 'start'],
    ['main completed', 'SparkExecutorCompleted', `${APP}%!(EXTRA string=${EXEC})`, 'end'],
    ['main failed', 'SparkExecutorFailed', `${APP}%!(EXTRA string=${EXEC}, int32=143, string=Error, string=)`, 'end'],
    ['main failed, container not found', 'SparkExecutorFailed', `${APP}%!(EXTRA string=${EXEC}, int=-1, string=Unknown (Container not Found), string=)`, 'end'],
  ])('%s: the executor pod and its id are read', (_format, reason, message, fact) => {
    const { facts, end } = readEvent(operatorEvent(reason, message));
    expect(end).toBeUndefined();
    expect(facts).toMatchObject({ namespace: NS, podName: EXEC, appName: APP, facts: { executorId: '1', [fact]: Date.parse('2025-06-26T00:06:56Z') } });
  });

  it('reads main\'s events.k8s.io event as kube-eventer sees it (no lastTimestamp, eventTime in microseconds)', () => {
    const input = normalizeTrigger(loadEvent('job-cost/spark-pi-python/executor-running-events-api'));
    if (input.kind !== 'k8s-events') throw new Error(input.kind);
    expect(readEvent(input.events[0]!).facts).toEqual({ namespace: NS, podName: EXEC, appName: APP, facts: { start: Date.parse('2025-06-26T00:06:56.412Z'), executorId: '1' } });
  });

  it.each([
    ['released', 'SparkApplicationCompleted', `SparkApplication ${APP} completed`],
    ['released, failed', 'SparkApplicationFailed', `SparkApplication ${APP} failed: driver container failed with ExitCode: 1, Reason: Error`],
    ['main', 'SparkApplicationCompleted', APP],
    ['main, failed (the error message as an EXTRA string)', 'SparkApplicationFailed', `${APP}%!(EXTRA string=driver container failed with ExitCode: 1, Reason: Error)`],
  ])('%s: an app end names the SparkApplication, never a pod from the message', (_format, reason, message) => {
    expect(readEvent(operatorEvent(reason, message))).toEqual({ end: { namespace: NS, appName: APP, driverPod: `${APP}-driver`, via: 'spark-operator', endTime: Date.parse('2025-06-26T00:06:56Z') } });
  });

  it.each([
    ['released', `Driver ${APP}-driver completed`, `${APP}-driver`],
    ['released, custom pod name', 'Driver pi-7f3a-driver completed', 'pi-7f3a-driver'],
    ['main (the note is the pod name)', 'pi-7f3a-driver', 'pi-7f3a-driver'],
  ])('%s: a driver end names its pod', (_format, message, pod) => {
    expect(readOperatorEvent(operatorEvent('SparkDriverCompleted', message))).toMatchObject({ kind: 'driver-end', driverPod: pod });
  });

  it('ignores an executor event whose message names no pod, and events about other kinds', () => {
    expect(readEvent(operatorEvent('SparkExecutorRunning', 'something else entirely'))).toEqual({});
    expect(readOperatorEvent(operatorEvent('SparkApplicationCompleted', '', { involvedObject: { kind: 'Pod', namespace: NS, name: APP } }))).toBeUndefined();
  });
});

describe('app identity from labels and Spark properties', () => {
  it('takes the operator label before spark-app-name, dotted or as Filebeat dedots it', () => {
    // What the real app's executor pod carries: spark-app-name comes from spark.app.name, which PythonPi's code set.
    expect(sparkApplicationNameOf({ 'spark-app-name': 'pythonpi', 'sparkoperator_k8s_io/app-name': APP })).toBe(APP);
    expect(sparkApplicationNameOf({ 'spark-app-name': 'pythonpi', 'sparkoperator.k8s.io/app-name': APP })).toBe(APP);
    expect(sparkApplicationNameOf({ 'spark-app-name': 'pythonpi' })).toBe('pythonpi');
    expect(sparkApplicationNameOf({})).toBeUndefined();
  });

  it('reads the real event log\'s properties: app id, SparkApplication, namespace, driver pod', async () => {
    const summary = new EventLogSummary();
    await readEventLines(chunks(piEventLog(), 64 * 1024), (type, event) => summary.apply(type, event));
    expect(summary.appName).toBe('PythonPi');
    expect(identityFromSparkProperties(summary.sparkProperties)).toEqual({ appId: PI_APP_ID, sparkApplication: APP, namespace: NS, driverPod: `${APP}-driver` });
  });
});

/** A store that counts reads, to see how many event logs a resolution opened. */
function countingGets(store: ObjectStore): { store: ObjectStore; gets: string[] } {
  const gets: string[] = [];
  const counted = Object.create(store) as ObjectStore;
  counted.get = (key, range) => {
    gets.push(key);
    return store.get(key, range);
  };
  return { store: counted, gets };
}

describe('event-log-properties: the app id without cluster or pods', () => {
  const yarnLogs = ['application_1506645932520_24630151', 'application_1553914137147_0018', 'application_1555004656427_0144', 'application_1578436911597_0052'];

  async function storeWithLogs() {
    const store = await tempStore();
    await store.put(`spark-events/${PI_LOG_KEY}`, piEventLog());
    await store.put(`spark-events/eventlog_v2_${PI_APP_ID}/appstatus_${PI_APP_ID}`, '');
    for (const id of yarnLogs) await store.put(`spark-events/${id}`, await fixture(id));
    await store.put('spark-events/spark-0badc0de.zstd', Buffer.from('not zstd at all'));
    return store;
  }

  it('finds the real spark-pi-python log among other apps\' logs and a corrupt one', async () => {
    const store = await storeWithLogs();
    const source = eventLogPropertiesSource(store, 'spark-events/');
    expect(await source.resolve({ namespace: NS, name: APP, endTime: APP_END_MS })).toEqual({ appId: PI_APP_ID, resolvedBy: 'event-log-properties' });
    expect(await source.resolve({ namespace: 'spark-jobs', name: APP })).toBeUndefined();
    expect(await source.resolve({ namespace: NS, name: 'taxi-trip' })).toBeUndefined();
  });

  it('picks the run that ended nearest the end event when a SparkApplication name was reused', async () => {
    const store = await storeWithLogs();
    const older = 'spark-00000000000000000000000000000001';
    const rerun = piEventLog().toString('utf8').replaceAll(PI_APP_ID, older);
    await store.put(`spark-events/${older}`, rerun);
    const end = Date.parse('2026-03-01T10:00:00Z');
    await utimes(join(store.dir, 'spark-events', older), new Date(end - 86_400_000), new Date(end - 86_400_000));
    await utimes(join(store.dir, 'spark-events', `eventlog_v2_${PI_APP_ID}`, `events_1_${PI_APP_ID}`), new Date(end - 5_000), new Date(end - 5_000));
    const source = eventLogPropertiesSource(store, 'spark-events/');
    expect(await source.resolve({ namespace: NS, name: APP, endTime: end })).toMatchObject({ appId: PI_APP_ID });
    expect(await source.resolve({ namespace: NS, name: APP, endTime: end - 86_400_000 })).toMatchObject({ appId: older });
  });

  it(`opens at most ${MAX_HEADS_READ} logs for a name no log carries`, async () => {
    const base = await storeWithLogs();
    for (let i = 0; i < MAX_HEADS_READ + 10; i++) await base.put(`spark-events/spark-${String(i).padStart(32, '0')}`, piEventLog().toString('utf8').replaceAll(PI_APP_ID, `spark-${String(i).padStart(32, '0')}`));
    const { store, gets } = countingGets(base);
    const source = eventLogPropertiesSource(store, 'spark-events/');
    expect(await source.resolve({ namespace: NS, name: 'no-such-app' })).toBeUndefined();
    expect(gets.length).toBe(MAX_HEADS_READ);
    // A second end in the same run reuses the listing and the heads already read.
    expect(await source.resolve({ namespace: NS, name: 'another-missing-app' })).toBeUndefined();
    expect(gets.length).toBe(MAX_HEADS_READ);
  });
});

describe('spark-application-status: the app id from the cluster', () => {
  let server: TestApiserver;
  beforeAll(async () => {
    server = await startTestApiserver();
  });
  afterAll(async () => {
    await server.stop();
  });

  const sparkApplication = (name: string, status: Record<string, unknown>) =>
    server.put({ apiVersion: `${SPARK_APPLICATION_API.group}/${SPARK_APPLICATION_API.version}`, kind: 'SparkApplication', metadata: { name, namespace: NS }, spec: { type: 'Python', mode: 'cluster' }, status });

  it('reads status.sparkApplicationId through client-node', async () => {
    sparkApplication(APP, { sparkApplicationId: PI_APP_ID, applicationState: { state: 'COMPLETED' }, driverInfo: { podName: `${APP}-driver` } });
    const source = sparkApplicationSource(await createKubeClients(server.kubeConfig()));
    expect(await source.resolve({ namespace: NS, name: APP })).toEqual({ appId: PI_APP_ID, resolvedBy: 'spark-application-status' });
  });

  it('falls back to the driver pod\'s spark-app-selector when the status has no id yet', async () => {
    sparkApplication('etl-early', { applicationState: { state: 'RUNNING' }, driverInfo: { podName: 'etl-early-7f3a-driver' } });
    server.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'etl-early-7f3a-driver', namespace: NS, labels: { 'spark-app-selector': 'spark-etl-early', 'spark-role': 'driver' } }, spec: { containers: [] } });
    const source = sparkApplicationSource(await createKubeClients(server.kubeConfig()));
    expect(await source.resolve({ namespace: NS, name: 'etl-early' })).toEqual({ appId: 'spark-etl-early', resolvedBy: 'driver-pod-labels' });
  });

  it('knows nothing of a SparkApplication and driver pod that are gone', async () => {
    const source = sparkApplicationSource(await createKubeClients(server.kubeConfig()));
    expect(await source.resolve({ namespace: NS, name: 'deleted-by-ttl' })).toBeUndefined();
  });

  it('a failing apiserver does not stop resolution: the next source is asked, and the attempt is reported', async () => {
    const store = await tempStore();
    await store.put(`spark-events/${PI_LOG_KEY}`, piEventLog());
    server.faults.internalError(5, { resource: 'sparkapplications' });
    try {
      const sources: AppIdSource[] = [sparkApplicationSource(await createKubeClients(server.kubeConfig())), eventLogPropertiesSource(store, 'spark-events/')];
      const { resolved, attempts } = await resolveAppId({ namespace: NS, name: APP }, sources);
      expect(resolved).toEqual({ appId: PI_APP_ID, resolvedBy: 'event-log-properties' });
      expect(attempts).toEqual([{ source: 'spark-application-status', outcome: 'failed', detail: expect.any(String) }]);
    } finally {
      server.faults.reset();
    }
  });

  it('gives up on a slow apiserver after its timeout, so one end does not hold the invocation', async () => {
    // Longer than the test's own timeout: without the lookup's, this test could not pass.
    server.faults.setLatency(120_000);
    try {
      const source = sparkApplicationSource(await createKubeClients(server.kubeConfig()), { timeoutMs: 100 });
      await expect(source.resolve({ namespace: NS, name: APP })).rejects.toThrow('the apiserver did not answer within 100 ms');
    } finally {
      server.faults.reset();
    }
  });

  it('refuses an id that cannot be a key segment and asks the next source', async () => {
    const bad: AppIdSource = { name: 'bad', resolve: async () => ({ appId: '../etc', resolvedBy: 'pod-ledger' }) };
    const good: AppIdSource = { name: 'good', resolve: async () => ({ appId: PI_APP_ID, resolvedBy: 'pod-ledger' }) };
    expect(await resolveAppId({ namespace: NS, name: APP }, [bad, good])).toEqual({ resolved: { appId: PI_APP_ID, resolvedBy: 'pod-ledger' }, attempts: [{ source: 'bad', outcome: 'unsafe-id', detail: '"../etc"' }] });
  });
});
