import { describe, expect, it } from 'vitest';
import { judgeApp, podEndTime } from '../../functions/janitor/app-state.js';
import type { AppObjects } from '../../functions/janitor/inventory.js';
import { formatTtl, parseTtl } from '../../functions/janitor/ttl.js';
import { DEFAULT_SETTINGS } from '../../functions/janitor/settings.js';
import { appObjects, HOUR, NOW, type AppSpec } from './cluster.js';

function appFrom(spec: AppSpec): AppObjects {
  const objects = appObjects(spec) as unknown as AppObjects['drivers'];
  const kind = (o: unknown) => (o as { kind: string }).kind;
  return {
    namespace: spec.namespace,
    appId: spec.appId,
    drivers: objects.filter((o) => kind(o) === 'Pod' && o.metadata.labels?.['spark-role'] === 'driver'),
    executors: objects.filter((o) => kind(o) === 'Pod' && o.metadata.labels?.['spark-role'] !== 'driver'),
    configmaps: objects.filter((o) => kind(o) === 'ConfigMap'),
    services: objects.filter((o) => kind(o) === 'Service'),
    ingresses: objects.filter((o) => kind(o) === 'Ingress'),
    sparkApps: objects.filter((o) => kind(o) === 'SparkApplication'),
  };
}

describe('janitor TTLs', () => {
  it.each([
    ['30s', 30_000],
    ['30m', 30 * 60_000],
    ['6h', 6 * HOUR],
    ['2d', 48 * HOUR],
    ['1w', 168 * HOUR],
    [' 6h ', 6 * HOUR],
    ['forever', 'forever'],
  ])('reads %j', (text, expected) => {
    expect(parseTtl(text)).toBe(expected);
  });

  it.each(['', '6', 'h', '1.5h', '-1h', '6 h', '6H', '1y', 'never', '3 days', '1h30m'])('refuses %j, naming what it is', (text) => {
    expect(() => parseTtl(text, 'annotation sparkfn.io/ttl')).toThrow(/annotation sparkfn\.io\/ttl .* is not a TTL/);
  });

  it('prints TTLs for people', () => {
    expect([formatTtl(HOUR), formatTtl(26 * HOUR + 60_000), formatTtl('forever'), formatTtl(0)]).toEqual(['1h', '1d 2h 1m', 'forever', '0s']);
  });
});

describe('judging an app', () => {
  const base: AppSpec = { namespace: 'spark-jobs', appId: 'spark-j', driverPhase: 'Succeeded', finishedAt: NOW - 2 * HOUR, executors: 1 };

  it('takes the end time from the driver container’s terminated state', () => {
    expect(judgeApp(appFrom(base), DEFAULT_SETTINGS)).toEqual({ state: 'finished', finishedAt: NOW - 2 * HOUR, ttl: HOUR, ttlSource: 'default' });
  });

  it('falls back to the last condition change for an evicted driver without a terminated container', () => {
    const app = appFrom(base);
    app.drivers[0]!.status = { phase: 'Failed', reason: 'Evicted', conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date(NOW - 5 * HOUR).toISOString() }] };
    expect(podEndTime(app.drivers[0]!)).toBe(NOW - 5 * HOUR);
  });

  it('prefers the longer TTL when the driver pod and the SparkApplication disagree', () => {
    const app = appFrom({ ...base, annotations: { 'sparkfn.io/ttl': '6h' }, sparkAppState: 'COMPLETED', sparkAppAnnotations: { 'sparkfn.io/ttl': '2d' } });
    expect(judgeApp(app, DEFAULT_SETTINGS)).toMatchObject({ state: 'finished', ttl: 48 * HOUR, ttlSource: 'annotation' });
  });

  it('uses the namespace TTL over the default', () => {
    expect(judgeApp(appFrom(base), { ...DEFAULT_SETTINGS, namespaceTtls: { 'spark-jobs': 'forever' } })).toMatchObject({ ttl: 'forever', ttlSource: 'namespace' });
  });

  it.each([
    [{ driverPhase: 'Running' as const }, 'running'],
    [{ sparkAppState: 'SUBMITTED' }, 'running'],
    [{ annotations: { 'sparkfn.io/keep': 'true' } }, 'opted-out'],
    [{ annotations: { 'sparkfn.io/keep': 'TRUE' } }, 'invalid'],
    [{ annotations: { 'sparkfn.io/ttl': 'tomorrow' } }, 'invalid'],
    [{ appId: 'spark_bad-' }, 'invalid'],
    [{ driverPhase: undefined, sparkAppState: undefined }, 'orphaned'],
  ])('%j is %s', (change, state) => {
    expect(judgeApp(appFrom({ ...base, ...change }), DEFAULT_SETTINGS).state).toBe(state);
  });

  it('calls an app finished only with an end time somewhere', () => {
    const app = appFrom(base);
    app.drivers[0]!.status = { phase: 'Succeeded' };
    expect(judgeApp(app, DEFAULT_SETTINGS)).toMatchObject({ state: 'invalid', why: expect.stringMatching(/says nowhere when it ended/) });
  });
});
