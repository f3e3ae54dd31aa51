import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { appEndOf } from '../../functions/log-archiver/app-end.js';
import { splitEndEvents } from '../../functions/log-archiver/end-events-in-batch.js';
import { run } from '../../functions/log-archiver/handler.js';
import { loadEvent, loadEventBytes } from '../support/events.js';
import { batch, depsFor, filebeatValue, keys, record, tempStore, withIndexes } from './support.js';

function event(kind: string, name: string, reason: string, message = ''): CoreV1Event {
  return { metadata: { uid: 'u1', namespace: 'spark-jobs' }, involvedObject: { kind, namespace: 'spark-jobs', name }, reason, message } as CoreV1Event;
}

describe('log-archiver app-end events', () => {
  it('reads the Spark operator sample in events/k8s/event.json', () => {
    expect(appEndOf(loadEvent('k8s/event') as CoreV1Event)).toEqual({
      reason: 'SparkApplicationCompleted',
      namespace: 'spark-jobs',
      appName: 'etl-orders-daily',
      driverPod: 'etl-orders-daily-driver',
    });
  });

  it.each([
    [event('SparkApplication', 'etl', 'SparkApplicationFailed', 'SparkApplication etl failed: driver pod failed'), { appName: 'etl', driverPod: 'etl-driver' }],
    [event('SparkApplication', 'etl', 'SparkDriverCompleted', 'Driver etl-7f3a-driver completed'), { appName: 'etl', driverPod: 'etl-7f3a-driver' }],
    [event('SparkApplication', 'etl', 'SparkDriverFailed', 'Driver etl-driver failed'), { appName: 'etl', driverPod: 'etl-driver' }],
    [event('Pod', 'etl-driver', 'Completed'), { driverPod: 'etl-driver' }],
    [event('Pod', 'etl-driver', 'Evicted'), { driverPod: 'etl-driver' }],
  ])('takes %j as the end of an app', (e, expected) => {
    expect(appEndOf(e)).toMatchObject({ namespace: 'spark-jobs', ...expected });
  });

  it.each([
    [event('SparkApplication', 'etl', 'SparkApplicationRunning')],
    [event('SparkApplication', 'etl', 'SparkExecutorCompleted')],
    [event('Pod', 'etl-exec-1', 'Completed')],
    [event('Pod', 'etl-driver', 'Killing')],
    [event('Pod', 'etl-driver', 'Started')],
  ])('ignores %j', (e) => {
    expect(appEndOf(e)).toBeUndefined();
  });
});

describe('log-archiver app ends in spark-operator main\'s events-API format', () => {
  it.each([
    // Eventf(app, nil, type, reason, action, note, args…): the sentence is `action`, the message is the note.
    [event('SparkApplication', 'spark-pi-python', 'SparkApplicationCompleted', 'spark-pi-python'), { appName: 'spark-pi-python', driverPod: 'spark-pi-python-driver' }],
    [event('SparkApplication', 'spark-pi-python', 'SparkDriverCompleted', 'pi-7f3a-driver'), { appName: 'spark-pi-python', driverPod: 'pi-7f3a-driver' }],
    [event('SparkApplication', 'spark-pi-python', 'SparkApplicationFailed', 'spark-pi-python%!(EXTRA string=driver container failed with ExitCode: 1, Reason: Error)'), { appName: 'spark-pi-python', driverPod: 'spark-pi-python-driver' }],
  ])('takes %j as the end of an app', (e, expected) => {
    expect(appEndOf(e)).toMatchObject({ namespace: 'spark-jobs', ...expected });
  });
});

const PI_APP_ID = 'spark-bcec39f6201b42b9925124595baad260';
const ended = (name: string) => ({ kind: 'k8s-events' as const, source: 'test', events: [event('SparkApplication', name, 'SparkApplicationCompleted', `SparkApplication ${name} completed`)] });

/**
 * The executors of SparkApplication spark-pi-python are labelled spark-app-name=pythonpi (the
 * app's code set spark.app.name=PythonPi) and sparkoperator.k8s.io/app-name=spark-pi-python,
 * which Filebeat dedots by default.
 */
function piExecutorLine(n: number, labels: 'dedotted' | 'dotted' | 'spark-app-name only'): Buffer {
  return filebeatValue('container-executor', (e) => {
    e.message = `25/06/26 00:06:57 INFO Executor: line ${n}`;
    const k = e.kubernetes as { labels: Record<string, string>; pod: { name: string } };
    k.pod.name = 'pythonpi-009fa697a98f0548-exec-1';
    k.labels = { 'spark-app-name': 'pythonpi', 'spark-app-selector': PI_APP_ID, 'spark-exec-id': '1', 'spark-role': 'executor' };
    if (labels === 'dedotted') k.labels['sparkoperator_k8s_io/app-name'] = 'spark-pi-python';
    if (labels === 'dotted') k.labels['sparkoperator.k8s.io/app-name'] = 'spark-pi-python';
  });
}

describe('log-archiver finds a SparkApplication\'s logs by the operator\'s label, as job-cost does', () => {
  it.each(['dedotted', 'dotted'] as const)('compacts executor logs whose spark-app-name is not the SparkApplication\'s name (operator label %s)', async (labels) => {
    const { store, cleanup } = await tempStore();
    try {
      const deps = depsFor(store);
      await run(batch([record(1, piExecutorLine(1, labels)), record(2, piExecutorLine(2, labels))]), deps);
      expect((await keys(store, `logs/${PI_APP_ID}/`)).some((k) => k.includes('/stderr/'))).toBe(true);
      await run(ended('spark-pi-python'), deps);
      expect(await keys(store, `logs/${PI_APP_ID}/`)).toEqual(withIndexes([`logs/${PI_APP_ID}/1/stderr.log.gz`]));
    } finally {
      await cleanup();
    }
  });

  it('leaves logs carrying only spark-app-name alone when that is not the SparkApplication\'s name', async () => {
    const { store, cleanup } = await tempStore();
    try {
      const deps = depsFor(store);
      await run(batch([record(1, piExecutorLine(1, 'spark-app-name only'))]), deps);
      const before = await keys(store, `logs/${PI_APP_ID}/`);
      await run(ended('spark-pi-python'), deps);
      expect(await keys(store, `logs/${PI_APP_ID}/`)).toEqual(before);
      await run(ended('pythonpi'), deps);
      expect(await keys(store, `logs/${PI_APP_ID}/`)).toEqual(withIndexes([`logs/${PI_APP_ID}/1/stderr.log.gz`]));
    } finally {
      await cleanup();
    }
  });
});

describe('kube-eventer Kafka sink messages in a log batch', () => {
  it('are taken out as events; one that does not decode stays a log record', () => {
    const sinkMessage = loadEventBytes('job-cost/spark-pi-python/completed-kube-eventer-kafka');
    const broken = Buffer.from('{"EventValue": "not an event"}');
    const { events, logs } = splitEndEvents(batch([record(1, filebeatValue('container-executor')), record(2, sinkMessage), record(3, broken)]));
    expect(events.map((e) => [e.reason, e.involvedObject.name])).toEqual([['SparkApplicationCompleted', 'spark-pi-python']]);
    expect(logs.records.map((r) => r.offset)).toEqual(['1', '3']);
  });
});
