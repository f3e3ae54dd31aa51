import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { foldPod, Ledger, type LedgerPod, type PendingFacts } from '../../functions/job-cost/ledger.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import { listAll } from '../../shared/store/read.js';
import { tempStore } from './support.js';

const NS = 'spark-jobs';
const APP = 'spark-5e0c1d2a';
const base: LedgerPod = { namespace: NS, podName: 'etl-exec-1', appId: APP, role: 'executor', executorId: '1', appName: 'etl', labels: { team: 'a' }, created: 1000 };

let store: FileObjectStore;
beforeEach(async () => {
  store = await tempStore();
});
afterEach(async () => {
  await rm(store.dir, { recursive: true, force: true });
});

const keys = async () => {
  const out: string[] = [];
  for await (const o of listAll(store, 'ledger/')) out.push(o.key);
  return out.sort();
};

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('job-cost ledger', () => {
  it('writes each fact once at a key derived from it; the same fact again rewrites the same key', async () => {
    const ledger = new Ledger(store);
    await ledger.recordPod({ ...base, phase: 'Running', start: 2000 });
    await ledger.recordPod({ ...base, phase: 'Running', start: 2000 });
    await ledger.recordPodFacts(NS, 'etl-exec-1', { degradedAt: 2500 });
    await ledger.recordPodFacts(NS, 'etl-exec-1', { degradedAt: 2500 });
    const written = await keys();
    expect(written).toHaveLength(3);
    expect(written.filter((k) => k.startsWith(`ledger/${NS}/${APP}/etl-exec-1/pod-`))).toHaveLength(1);
    expect(written.filter((k) => k.startsWith(`ledger/${NS}/_pods/etl-exec-1/event-`))).toHaveLength(1);
    expect(written).toContain(`ledger/${NS}/_index/app-name/etl/000000000001000-${APP}.json`);
  });

  it('folds a pod to the same state whatever order its facts came in', () => {
    const changes = [
      { key: 'pod-a', pod: { ...base, phase: 'Pending', start: 1000 } },
      { key: 'pod-b', pod: { ...base, phase: 'Running', start: 2000, labels: { team: 'b' } } },
      { key: 'pod-c', pod: { ...base, phase: 'Succeeded', start: 2000, end: 9000, endReason: 'terminated' as const } },
      { key: 'pod-d', pod: { ...base, phase: 'Succeeded', start: 2000, end: 9500, endReason: 'deleted' as const } },
    ];
    const events: { key: string; facts: PendingFacts }[] = [
      { key: 'event-a', facts: { degradedAt: 2100 } },
      { key: 'event-b', facts: { end: 8800, endReason: 'executor-event', executorId: '1' } },
    ];
    const expected = foldPod(changes, events);
    // Times take the earliest; replaceable fields (labels) come from the furthest change, the deletion.
    expect(expected).toMatchObject({ start: 1000, end: 8800, endReason: 'executor-event', phase: 'Succeeded', degradedAt: 2100, labels: { team: 'a' } });
    for (const c of permutations(changes)) for (const e of permutations(events)) expect(foldPod(c, e)).toEqual(expected);
  });

  it('reads the layout before facts had their own objects, for one release', async () => {
    const json = (v: unknown) => JSON.stringify(v);
    // Before: one object per pod, rewritten on every change; pending facts and app names in _index.
    await store.put(`ledger/${NS}/${APP}/etl-exec-2.json`, json({ ...base, podName: 'etl-exec-2', executorId: '2', phase: 'Running', start: 3000 }));
    await store.put(`ledger/${NS}/_index/pod/etl-exec-3.json`, json({ appId: APP, pending: { reclaimedAt: 7000 } }));
    await store.put(`ledger/${NS}/_index/app-name/etl-old.json`, json({ appId: 'spark-old' }));
    const ledger = new Ledger(store);
    // After the upgrade: the same pod ends, a pod whose event came before the upgrade is seen.
    await ledger.recordPod({ ...base, podName: 'etl-exec-2', executorId: '2', phase: 'Succeeded', start: 3000, end: 8000, endReason: 'terminated' });
    await ledger.recordPod({ ...base, podName: 'etl-exec-3', executorId: '3', phase: 'Running', start: 4000 });
    const pods = await ledger.podsOf(NS, APP);
    expect(pods.map((p) => p.podName)).toEqual(['etl-exec-2', 'etl-exec-3']);
    expect(pods[0]).toMatchObject({ start: 3000, end: 8000, phase: 'Succeeded' });
    expect(pods[1]).toMatchObject({ start: 4000, reclaimedAt: 7000 });
    expect(await ledger.appIdForName(NS, 'etl-old')).toBe('spark-old');
    expect(await ledger.appIdForName(NS, 'etl')).toBe(APP);
  });

  it('maps a SparkApplication name to the app of its newest pod when the name is used again', async () => {
    const ledger = new Ledger(store);
    await ledger.recordPod({ ...base, appId: 'spark-second', created: 50_000 });
    await ledger.recordPod({ ...base, appId: 'spark-first', created: 10_000 });
    expect(await ledger.appIdForName(NS, 'etl')).toBe('spark-second');
  });
});
