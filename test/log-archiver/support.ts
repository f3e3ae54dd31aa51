import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ManualClock } from '../../shared/clock.js';
import type { Deps } from '../../shared/deps.js';
import { createLogger, silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import type { KafkaBatchInput, KafkaRecord } from '../../shared/platform/trigger.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { loadEventBytes } from '../support/events.js';

/** The Filebeat sample events in events/filebeat/. */
export const FILEBEAT_SAMPLES = ['container-driver', 'container-executor', 'container-executor-multiline', 'filestream', 'fields-under-root'] as const;
export type FilebeatSample = (typeof FILEBEAT_SAMPLES)[number];

export const APP_ID = 'spark-4f9c2e7a1b3d4c5e8f6a7b8c9d0e1f2a';
export const TOPIC = 'spark-logs';

/** A Filebeat sample event as the record value Filebeat sends (compact JSON, as its json codec writes). */
export function filebeatValue(name: FilebeatSample, change?: (event: Record<string, unknown>) => void): Buffer {
  const event = JSON.parse(loadEventBytes(`filebeat/${name}`).toString('utf8')) as Record<string, unknown>;
  change?.(event);
  return Buffer.from(JSON.stringify(event));
}

/** A Filebeat sample as a parsed object (a fresh copy). */
export function filebeatEvent(name: FilebeatSample): Record<string, unknown> {
  return JSON.parse(loadEventBytes(`filebeat/${name}`).toString('utf8')) as Record<string, unknown>;
}

/** An executor's Filebeat container event with the given message, executor, stream and time. */
export function executorLine(message: string, options: { executorId?: string; stream?: 'stdout' | 'stderr'; appId?: string; time?: number } = {}): Buffer {
  return filebeatValue('container-executor', (e) => {
    e.message = message;
    e.stream = options.stream ?? 'stderr';
    if (options.time !== undefined) e['@timestamp'] = new Date(options.time).toISOString();
    const kubernetes = e.kubernetes as { labels: Record<string, string>; pod: { name: string } };
    if (options.executorId !== undefined) {
      kubernetes.labels['spark-exec-id'] = options.executorId;
      kubernetes.pod.name = `etl-orders-daily-7d3f9a2b1c8e4f60-exec-${options.executorId}`;
    }
    if (options.appId !== undefined) kubernetes.labels['spark-app-selector'] = options.appId;
  });
}

/** One Kafka record. */
export function record(offset: number | string, value: Buffer | string | null, options: Partial<KafkaRecord> = {}): KafkaRecord {
  return {
    topic: TOPIC,
    partition: 0,
    offset: String(offset),
    timestamp: Date.UTC(2025, 4, 14, 2, 15),
    key: null,
    value: typeof value === 'string' ? Buffer.from(value) : value,
    headers: {},
    ...options,
  };
}

export function batch(records: KafkaRecord[]): KafkaBatchInput {
  return { kind: 'kafka', source: 'local', records };
}

/** A fresh FileObjectStore in a temp dir, and a way to remove it. */
export async function tempStore(): Promise<{ store: FileObjectStore; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkfn-logs-'));
  return { store: new FileObjectStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function depsFor(store: ObjectStore, options: { clock?: ManualClock; signal?: AbortSignal } = {}): Deps & { clock: ManualClock } {
  return {
    store,
    clock: options.clock ?? new ManualClock(),
    logger: process.env.TEST_LOG ? createLogger('debug', 2) : silentLogger,
    metrics: new Metrics(),
    ...(options.signal && { signal: options.signal }),
  };
}

/** Every key in the store, sorted. */
export async function keys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of listAll(store, prefix)) out.push(o.key);
  return out;
}

/** An object's text, decompressed. */
export async function text(store: ObjectStore, key: string): Promise<string> {
  return gunzipSync(await getBuffer(store, key)).toString('utf8');
}

/** Lines of a text that ends with a newline. */
export function linesOf(t: string): string[] {
  return t === '' ? [] : t.replace(/\n$/, '').split('\n');
}

/** `keys` with the index each compaction writes beside its compacted object (`<object>.idx.json`), sorted. */
export function withIndexes(compactedOrOther: readonly string[]): string[] {
  return compactedOrOther.flatMap((k) => (/^logs\/[^/]+\/[^/]+\/(stdout|stderr)\.log\.gz$/.test(k) ? [k, `${k}.idx.json`] : [k])).sort();
}
