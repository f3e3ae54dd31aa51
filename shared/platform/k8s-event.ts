import type { CoreV1Event } from '@kubernetes/client-node';
import * as z from 'zod';
import { isRecord } from './payload.js';

/**
 * A Kubernetes timestamp: RFC 3339 text as the apiserver writes it, or a Date already decoded
 * in-process. Zero times arrive as `null` (Go's metav1.Time marshals its zero value so) and are
 * dropped. `eventTime` is a MicroTime; it decodes to a plain Date, which is what client-node's
 * V1MicroTime is apart from its toISOString (importing it would load the whole client at cold start).
 */
const k8sTime = z
  .union([z.date(), z.iso.datetime({ offset: true })])
  .nullish()
  .transform((t) => (t === null || t === undefined ? undefined : t instanceof Date ? t : new Date(t)));

// Go writes empty strings for unset fields without `omitempty` (reportingComponent, and every field
// of the webhook template); the apiserver omits them. Both decode to "absent".
const optionalText = z
  .string()
  .nullish()
  .transform((s) => (s ? s : undefined));

const objectReference = z.looseObject({
  apiVersion: optionalText,
  kind: optionalText,
  namespace: optionalText,
  name: optionalText,
  uid: optionalText,
  resourceVersion: optionalText,
  fieldPath: optionalText,
});

/**
 * A core/v1 Event (`kind: Event`), from the apiserver, a watch, or any sink that marshals the Go
 * struct. `metadata.uid` and `involvedObject` are required: deduplication keys on the uid and every
 * consumer needs to know what the event is about. Unknown fields are kept.
 */
export const k8sEventSchema = z
  .looseObject({
    apiVersion: optionalText,
    // Typed informers drop TypeMeta, so events marshalled by kube-eventer usually carry no kind.
    kind: z.literal('Event').optional(),
    metadata: z.looseObject({
      name: optionalText,
      namespace: optionalText,
      uid: z.string().min(1),
      resourceVersion: optionalText,
      creationTimestamp: k8sTime,
    }),
    involvedObject: objectReference,
    reason: optionalText,
    message: optionalText,
    source: z.looseObject({ component: optionalText, host: optionalText }).nullish(),
    firstTimestamp: k8sTime,
    lastTimestamp: k8sTime,
    eventTime: k8sTime,
    count: z.number().int().min(0).nullish(),
    type: optionalText,
    series: z.looseObject({ count: z.number().int().min(0).nullish(), lastObservedTime: k8sTime }).nullish(),
    action: optionalText,
    related: objectReference.nullish(),
    reportingComponent: optionalText,
    reportingInstance: optionalText,
  })
  .transform((event) => withoutEmpty(event) as unknown as CoreV1Event);

/** Drops keys whose value is undefined or null, recursively through plain objects, so decoded events look like the apiserver's. */
function withoutEmpty(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    out[key] = isRecord(v) && !(v instanceof Date) ? withoutEmpty(v) : v;
  }
  return out;
}

export function isK8sEvent(value: unknown): boolean {
  return isRecord(value) && isRecord(value.involvedObject) && isRecord(value.metadata) && (value.kind === undefined || value.kind === 'Event');
}

const WATCH_TYPES = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'] as const;

/**
 * One watch event `{ type, object }` from `GET /api/v1/events?watch=1`. ADDED and MODIFIED carry an
 * occurrence (MODIFIED is a repeat: count went up). DELETED is the event TTL (1 h by default)
 * collecting the object, not something that happened, and BOOKMARK only moves resourceVersion:
 * both yield no event. ERROR carries a Status (e.g. 410 Expired) and is refused.
 */
export const k8sWatchEventSchema = z
  .looseObject({ type: z.enum(WATCH_TYPES), object: z.unknown() })
  .transform((watch, ctx): CoreV1Event[] => {
    if (watch.type === 'DELETED' || watch.type === 'BOOKMARK') return [];
    if (watch.type === 'ERROR') {
      const status = isRecord(watch.object) ? watch.object : {};
      ctx.addIssue({
        code: 'custom',
        path: ['object'],
        message: `the watch ended with an error (${String(status.code ?? '?')} ${String(status.reason ?? '')}: ${String(status.message ?? '')}); list again before watching`,
      });
      return [];
    }
    const parsed = k8sEventSchema.safeParse(watch.object);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['object', ...issue.path], message: issue.message });
      return [];
    }
    return [parsed.data];
  });

export function isK8sWatchEvent(value: unknown): boolean {
  return isRecord(value) && (WATCH_TYPES as readonly unknown[]).includes(value.type) && 'object' in value;
}

/** A core/v1 EventList, as `kubectl get events -o json` prints it. */
export const k8sEventListSchema = z
  .looseObject({ kind: z.literal('EventList'), items: z.array(k8sEventSchema) })
  .transform((list) => list.items);

export function isK8sEventList(value: unknown): boolean {
  return isRecord(value) && value.kind === 'EventList' && Array.isArray(value.items);
}
