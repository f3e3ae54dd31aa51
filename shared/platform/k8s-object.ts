import * as z from 'zod';
import type { K8sObjectChange, K8sObjectsInput } from './trigger.js';
import { isRecord } from './payload.js';

/** A Kubernetes object other than an Event: what a pod or SparkApplication watch delivers. */
export const k8sObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1).refine((kind) => kind !== 'Event', { message: 'Events are Kubernetes events, not object changes' }),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
    uid: z.string().min(1).optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});

export const k8sObjectChangeSchema = z
  .looseObject({ type: z.enum(['ADDED', 'MODIFIED', 'DELETED']), object: k8sObjectSchema })
  .transform((change): K8sObjectChange => change as K8sObjectChange);

/** One watch event `{type, object}` whose object is not an Event (a Pod, a SparkApplication…). */
export const k8sObjectWatchEventSchema = k8sObjectChangeSchema.transform(
  (change): K8sObjectsInput => ({ kind: 'k8s-objects', source: 'k8s:watch', changes: [change] }),
);

export function isK8sObjectWatchEvent(value: unknown): boolean {
  return (
    isRecord(value) &&
    ['ADDED', 'MODIFIED', 'DELETED'].includes(value.type as string) &&
    isRecord(value.object) &&
    typeof value.object.kind === 'string' &&
    value.object.kind !== 'Event'
  );
}
