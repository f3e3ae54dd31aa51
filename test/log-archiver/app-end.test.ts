import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { appEndOf } from '../../functions/log-archiver/app-end.js';
import { loadEvent } from '../support/events.js';

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
