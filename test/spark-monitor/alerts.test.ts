import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alertPayload, type AlertMessage } from '../../shared/alerts/alert-payload.js';
import { silentLogger } from '../../shared/logger.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { listAll } from '../../shared/store/read.js';
import { ALERTS_PREFIX, evaluateAlerts, type ActiveCondition } from '../../functions/spark-monitor/alerts.js';
import { DEFAULT_MONITOR_SETTINGS, type MonitorSettings } from '../../functions/spark-monitor/settings.js';
import { startAlertReceiver, type AlertReceiver } from './alert-receiver.js';

const NOW = Date.UTC(2026, 11, 6, 12);
let receiver: AlertReceiver | undefined;
let dir: string | undefined;
afterEach(async () => {
  await receiver?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  receiver = dir = undefined;
});

const conditions: ActiveCondition[] = Array.from({ length: 12 }, (_, i) => ({
  id: `stuck-app~spark-jobs~spark-${i}`,
  title: `Spark app spark-jobs/job-${i} is stuck`,
  lines: ['no running executor for 20 min'],
  link: `https://sparkfn.example.com/logs/spark-${i}`,
}));
const deps = (store: FileObjectStore) => ({ store, logger: silentLogger, clock: { now: () => NOW } });

async function keys(store: FileObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of listAll(store, ALERTS_PREFIX)) out.push(o.key);
  return out.sort();
}

describe('spark-monitor alerts', () => {
  it('two timers that race (separate processes, the filesystem store) send each episode once: the create-only write arbitrates', async () => {
    receiver = await startAlertReceiver();
    dir = await mkdtemp(join(tmpdir(), 'spark-monitor-alerts-'));
    const settings: MonitorSettings = { ...DEFAULT_MONITOR_SETTINGS, alertUrl: receiver.url, alertFormat: 'webhook' };
    // Two store objects on one directory: nothing in this process serializes them, as with two replicas.
    const replicas = [new FileObjectStore(dir), new FileObjectStore(dir)];
    const outcomes = await Promise.all(replicas.flatMap((store) => [evaluateAlerts(conditions, deps(store), settings), evaluateAlerts(conditions, deps(store), settings)]));

    expect(outcomes.reduce((s, o) => s + o.fired, 0)).toBe(conditions.length);
    expect(receiver.bodies.map((b) => b.condition).sort()).toEqual(conditions.map((c) => c.id).sort());
    const cleared = await Promise.all(replicas.map((store) => evaluateAlerts([], deps(store), settings)));
    expect(cleared.reduce((s, o) => s + o.resolved, 0)).toBe(conditions.length);
    expect(receiver.bodies.filter((b) => b.status === 'resolved')).toHaveLength(conditions.length);
    expect(await keys(replicas[0]!)).toHaveLength(2 * conditions.length);
  });

  it('a receiver that refuses takes the fact back: the next run sends again, once', async () => {
    receiver = await startAlertReceiver();
    dir = await mkdtemp(join(tmpdir(), 'spark-monitor-alerts-'));
    const store = new FileObjectStore(dir);
    const settings: MonitorSettings = { ...DEFAULT_MONITOR_SETTINGS, alertUrl: receiver.url, alertFormat: 'webhook' };
    receiver.failNext(1);

    const first = await evaluateAlerts(conditions.slice(0, 2), deps(store), settings);
    expect(first).toMatchObject({ fired: 1, failed: 1 });
    expect(await keys(store)).toHaveLength(1);
    const second = await evaluateAlerts(conditions.slice(0, 2), deps(store), settings);
    expect(second).toMatchObject({ fired: 1, failed: 0 });
    const third = await evaluateAlerts(conditions.slice(0, 2), deps(store), settings);
    expect(third).toMatchObject({ fired: 0, failed: 0 });
    expect(receiver.bodies.map((b) => b.condition).sort()).toEqual([conditions[0]!.id, conditions[1]!.id]);
    expect(receiver.refused).toBe(1);
  });

  it('a condition that comes back after it resolved is a new episode, alerted again', async () => {
    receiver = await startAlertReceiver();
    dir = await mkdtemp(join(tmpdir(), 'spark-monitor-alerts-'));
    const store = new FileObjectStore(dir);
    const settings: MonitorSettings = { ...DEFAULT_MONITOR_SETTINGS, alertUrl: receiver.url, alertFormat: 'webhook' };
    for (const active of [[conditions[0]!], [], [conditions[0]!], [conditions[0]!]]) await evaluateAlerts(active, deps(store), settings);
    expect(receiver.bodies.map((b) => b.status)).toEqual(['firing', 'resolved', 'firing']);
    expect((await keys(store)).map((k) => k.slice(ALERTS_PREFIX.length))).toEqual([`${conditions[0]!.id}/000000.json`, `${conditions[0]!.id}/000000.resolved.json`, `${conditions[0]!.id}/000001.json`]);
  });

  const message: AlertMessage = { source: 'spark-monitor', status: 'firing', condition: 'stuck-app~ns~spark-1', title: 'Spark app ns/job is stuck', lines: ['no running executor for 20 min'], link: 'https://x.example/logs/spark-1', at: NOW };
  it.each([
    ['dingtalk', { msgtype: 'markdown', markdown: { title: message.title, text: '### Spark app ns/job is stuck\n\n- no running executor for 20 min\n\n[logs](https://x.example/logs/spark-1)' } }],
    ['slack', { text: message.title, attachments: [{ fallback: 'Spark app ns/job is stuck: no running executor for 20 min', color: 'danger', title: message.title, title_link: message.link, text: message.lines[0] }] }],
    ['webhook', { source: 'spark-monitor', status: 'firing', condition: message.condition, title: message.title, lines: message.lines, link: message.link, at: '2026-12-06T12:00:00.000Z' }],
  ] as const)('formats a %s payload with the link to the app\'s logs', (format, expected) => {
    expect(alertPayload(message, format)).toEqual(expected);
  });
});
