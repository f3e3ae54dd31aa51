import * as z from 'zod';
import type { HttpInput, K8sEventsInput, K8sObjectsInput, KafkaBatchInput, KafkaRecord, ScheduleInput, TriggerKind } from './trigger.js';
import { localBytes } from './bytes.js';
import { dedupeEvents } from './dedupe-events.js';
import { k8sEventSchema } from './k8s-event.js';
import { k8sObjectChangeSchema } from './k8s-object.js';
import { isRecord } from './payload.js';

/** Where a local input says it came from when it does not say. */
export const LOCAL_SOURCE = 'local';

const source = z.string().min(1).default(LOCAL_SOURCE);

const localRecord = z
  .strictObject({
    topic: z.string().min(1),
    partition: z.number().int().min(0),
    offset: z.union([z.number().int().min(0), z.string().regex(/^\d+$/)]).transform(String),
    timestamp: z.number().optional(),
    key: localBytes.nullable().default(null),
    value: localBytes.nullable(),
    headers: z.record(z.string(), localBytes).default(() => ({})),
  })
  .transform((r): KafkaRecord => {
    const { timestamp, ...rest } = r;
    return timestamp === undefined ? rest : { ...rest, timestamp };
  });

const localKafka = z
  .strictObject({ kind: z.literal('kafka'), source, records: z.array(localRecord) })
  .transform((input): KafkaBatchInput => input);

const localSchedule = z
  .strictObject({
    kind: z.literal('schedule'),
    source,
    time: z.union([
      z.number().int().min(0),
      z.iso.datetime({ offset: true }).transform((t) => Date.parse(t)),
      z.date().transform((d) => d.getTime()),
    ]),
    name: z.string().min(1).optional(),
    payload: z.string().optional(),
  })
  .transform((input): ScheduleInput => input as ScheduleInput);

const localHttp = z
  .strictObject({
    kind: z.literal('http'),
    source,
    method: z.string().min(1).transform((m) => m.toUpperCase()),
    path: z.string().startsWith('/'),
    query: z.record(z.string(), z.string()).default(() => ({})),
    headers: z
      .record(z.string(), z.string())
      .default(() => ({}))
      .transform((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]))),
    body: localBytes.default(() => Buffer.alloc(0)),
  })
  .transform((input): HttpInput => input);

const localK8sEvents = z
  .strictObject({ kind: z.literal('k8s-events'), source, events: z.array(k8sEventSchema) })
  .transform((input): K8sEventsInput => ({ ...input, events: dedupeEvents(input.events) }));

const localK8sObjects = z
  .strictObject({ kind: z.literal('k8s-objects'), source, changes: z.array(k8sObjectChangeSchema).min(1) })
  .transform((input): K8sObjectsInput => input);

/**
 * The `local` shape: a TriggerInput written as JSON, for `sparkfn invoke --event file.json`,
 * events/local/*.json and in-process callers (the kafkajs consumer, the pod watch).
 *
 * ```jsonc
 * { "kind": "kafka", "source": "local",                 // source is optional, default "local"
 *   "records": [{ "topic": "spark-logs", "partition": 0, "offset": "42",   // offset: string or number
 *                 "timestamp": 1714557600000,            // optional, ms since the epoch
 *                 "key": "spark/spark-a1b2/1",           // bytes: UTF-8 text, { "base64": "…" } or null
 *                 "value": "{…}", "headers": { "name": "text" } }] }
 * { "kind": "schedule", "time": "2024-05-01T10:00:00Z", "name": "janitor-hourly", "payload": "…" }  // time: ISO or ms
 * { "kind": "http", "method": "GET", "path": "/logs/…", "query": {}, "headers": {}, "body": "" }
 * { "kind": "k8s-events", "events": [ { …v1.Event… } ] }  // deduplicated by uid + count
 * { "kind": "k8s-objects", "changes": [ { "type": "MODIFIED", "object": { …v1.Pod… } } ] }
 * ```
 * Our own shape is strict: an unknown field is an error (a typo must not pass silently). In
 * process, Buffers and Dates are accepted where the JSON form has strings.
 */
export const localInputSchema = z.discriminatedUnion('kind', [localKafka, localSchedule, localHttp, localK8sEvents, localK8sObjects]);

const LOCAL_KINDS: readonly TriggerKind[] = ['kafka', 'schedule', 'http', 'k8s-events', 'k8s-objects'];

export function isLocalInput(value: unknown): boolean {
  return isRecord(value) && (LOCAL_KINDS as readonly unknown[]).includes(value.kind);
}
