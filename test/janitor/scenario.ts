import type { KubeObject } from '../support/apiserver/index.js';
import { appObjects, HOUR, NOW, refOf, unrelatedObjects, type AppSpec, type ObjectRef } from './cluster.js';

/** A cluster for janitor with, beside each object, whether janitor must delete it (decided here, not by janitor's code). */
export interface Scenario {
  objects: KubeObject[];
  /** Objects a correct run deletes. */
  expected: Set<ObjectRef>;
  /** Apps a correct run cleans. */
  expiredApps: number;
  invalidApps: number;
}

/** spark-dev's TTL override in the scenario's settings. */
export const NAMESPACE_TTLS = { 'spark-dev': 30 * 60_000 };

/**
 * The cluster, scaled by `finished` (200 in the full scenario): finished apps with mixed
 * TTL annotations (some past, some inside their TTL, some opted out), running apps (by driver
 * phase, or by a SparkApplication still RUNNING), orphans past and inside the grace period, an
 * expired app in kube-system, apps with invalid annotations, and objects without Spark labels.
 */
export function buildScenario(counts: { finished: number; running: number; orphans: number }): Scenario {
  const objects: KubeObject[] = [];
  const expected = new Set<ObjectRef>();
  let expiredApps = 0;
  const add = (spec: AppSpec, expire: boolean) => {
    const made = appObjects(spec);
    objects.push(...made);
    if (!expire) return;
    expiredApps++;
    for (const o of made) if (o.kind !== 'SparkApplication') expected.add(refOf(o));
  };

  for (let i = 0; i < counts.finished; i++) {
    const namespace = i % 4 === 0 ? 'spark-dev' : 'spark-jobs';
    const base: AppSpec = {
      namespace,
      appId: `spark-fin-${String(i).padStart(4, '0')}`,
      driverPhase: i % 3 === 0 ? 'Failed' : 'Succeeded',
      executors: 2,
      configmaps: i % 2 ? 1 : 2,
      services: 1,
      ingresses: i % 5 === 0 ? 1 : 0,
    };
    const ago = (h: number) => NOW - h * HOUR;
    switch (i % 10) {
      case 0: case 1: case 2: add({ ...base, finishedAt: ago(3) }, true); break; // default 1h / spark-dev 30m: past
      case 3: add({ ...base, finishedAt: ago(1 / 3) }, false); break; // 20 min: inside both
      case 4: add({ ...base, finishedAt: ago(7), annotations: { 'sparkfn.io/ttl': '6h' } }, true); break;
      case 5: add({ ...base, finishedAt: ago(2), annotations: { 'sparkfn.io/ttl': '6h' } }, false); break;
      case 6: add({ ...base, finishedAt: ago(72), annotations: { 'sparkfn.io/ttl': '2d' } }, true); break;
      case 7: add({ ...base, finishedAt: ago(7200), annotations: { 'sparkfn.io/ttl': 'forever' } }, false); break;
      case 8: add({ ...base, finishedAt: ago(7200), annotations: { 'sparkfn.io/keep': 'true' } }, false); break;
      case 9: add({ ...base, finishedAt: ago(1), sparkAppState: i % 20 === 9 ? 'COMPLETED' : 'FAILED', sparkAppAnnotations: { 'sparkfn.io/ttl': '30m' } }, true); break;
    }
  }
  for (let j = 0; j < counts.running; j++) {
    const base: AppSpec = { namespace: 'spark-jobs', appId: `spark-run-${String(j).padStart(4, '0')}`, executors: 2, configmaps: 1, services: 1, ingresses: j % 2 };
    if (j % 5 === 4) add({ ...base, driverPhase: 'Succeeded', finishedAt: NOW - 48 * HOUR, sparkAppState: 'RUNNING' }, false); // the operator is retrying it
    else add({ ...base, driverPhase: j % 5 === 3 ? 'Pending' : 'Running', createdAt: NOW - 72 * HOUR }, false);
  }
  for (let k = 0; k < counts.orphans; k++) {
    const old = k < Math.ceil((counts.orphans * 3) / 4);
    add({ namespace: 'spark-jobs', appId: `spark-orphan-${String(k).padStart(4, '0')}`, executors: 1, configmaps: 1, services: k % 2, createdAt: NOW - (old ? 5 : 0.25) * HOUR }, old);
  }
  add({ namespace: 'kube-system', appId: 'spark-in-kube-system', driverPhase: 'Succeeded', finishedAt: NOW - 100 * HOUR, executors: 1, configmaps: 1 }, false);
  const invalid: AppSpec[] = [
    { namespace: 'spark-jobs', appId: 'spark-bad-ttl', driverPhase: 'Succeeded', finishedAt: NOW - 100 * HOUR, executors: 1, configmaps: 1, annotations: { 'sparkfn.io/ttl': 'soon' } },
    { namespace: 'spark-jobs', appId: 'spark-bad-keep', driverPhase: 'Failed', finishedAt: NOW - 100 * HOUR, executors: 1, annotations: { 'sparkfn.io/keep': 'yes' } },
    { namespace: 'spark-dev', appId: 'spark-bad-unit', driverPhase: 'Succeeded', finishedAt: NOW - 100 * HOUR, services: 1, annotations: { 'sparkfn.io/ttl': '3 days' } },
  ];
  for (const spec of invalid) add(spec, false);
  for (const namespace of ['spark-jobs', 'spark-dev', 'kube-system']) objects.push(...unrelatedObjects(namespace, 10));
  return { objects, expected, expiredApps, invalidApps: invalid.length };
}
