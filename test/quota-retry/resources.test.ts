import { describe, expect, it } from 'vitest';
import { parseMilli, formatMilli } from '../../functions/quota-retry/quantity.js';
import { fitsQuotas, podUsage, quotaRooms, sparkApplicationUsage, usageToJson } from '../../functions/quota-retry/resources.js';
import { loadEvent } from '../support/events.js';

describe('quota-retry: quantities', () => {
  it.each([
    ['500m', 500n],
    ['0.5', 500n],
    ['2', 2000n],
    ['1.5Gi', 1610612736000n],
    ['4G', 4000000000000n],
    ['1e3', 1000000n],
    ['100u', 1n],
    ['1n', 1n],
    ['128Ti', 140737488355328000n],
  ])('%s is %s thousandths', (text, milli) => {
    expect(parseMilli(text)).toBe(milli);
  });

  it.each(['', 'abc', '5 Gi', '1.2.3', 'Mi'])('refuses %j with the reason', (text) => {
    expect(() => parseMilli(text, 'driver cpu')).toThrow(/driver cpu .* is not a Kubernetes quantity/);
  });

  it('prints whole numbers plainly and fractions in m', () => {
    expect(formatMilli(1500n)).toBe('1500m');
    expect(formatMilli(3000n)).toBe('3');
  });
});

describe('quota-retry: what a submission counts for, the way ResourceQuota sums it', () => {
  it('sums containers and sidecars, takes the largest init container, adds overhead, defaults requests from limits', () => {
    const pod = {
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'driver', resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } } },
          { name: 'logs', resources: { limits: { cpu: '200m', memory: '128Mi' } } },
        ],
        initContainers: [
          { name: 'fetch-jars', resources: { requests: { cpu: '3', memory: '1Gi' } } },
          { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
        ],
        overhead: { cpu: '250m', memory: '120Mi' },
      },
    };
    const mi = (n: number) => String(n * 1024 * 1024);
    expect(usageToJson(podUsage(pod))).toEqual({
      'count/pods': '1',
      pods: '1',
      cpu: '3250m',
      'requests.cpu': '3250m',
      memory: mi(2048 + 128 + 64 + 120),
      'requests.memory': mi(2048 + 128 + 64 + 120),
      'limits.cpu': '2450m',
      'limits.memory': mi(2048 + 128 + 120),
    });
  });

  it('estimates the driver pod spark-operator will create for a SparkApplication (memory + 10 % overhead, at least 384 MiB)', () => {
    const app = loadEvent('quota-retry/data/sparkapplication-submission-failed') as never;
    const usage = usageToJson(sparkApplicationUsage(app));
    expect(usage['requests.cpu']).toBe('2');
    expect(usage['requests.memory']).toBe(String(4 * 1024 ** 3 + Math.ceil(4 * 1024 ** 3 * 0.1)));
    expect(usage['limits.memory']).toBe(usage['requests.memory']);
    expect(usage['count/sparkapplications.sparkoperator.k8s.io']).toBe('1');
  });

  it('fits only when every quota that limits a resource has room for it', () => {
    const rooms = quotaRooms([
      { metadata: { name: 'compute' }, status: { hard: { 'requests.cpu': '4', pods: '10' }, used: { 'requests.cpu': '3', pods: '2' } } },
      { metadata: { name: 'objects' }, status: { hard: { 'count/configmaps': '5' }, used: { 'count/configmaps': '5' } } },
    ]);
    expect(fitsQuotas(new Map([['requests.cpu', 1000n], ['pods', 1000n]]), rooms)).toEqual({ fits: true });
    expect(fitsQuotas(new Map([['requests.cpu', 1001n]]), rooms)).toEqual({ fits: false, short: 'compute: requests.cpu' });
    expect(fitsQuotas(new Map([['count/configmaps', 1000n]]), rooms)).toEqual({ fits: false, short: 'objects: count/configmaps' });
  });
});
