import type { CoreV1Event } from '@kubernetes/client-node';
import * as z from 'zod';
import { isBase64 } from './bytes.js';
import { k8sEventSchema } from './k8s-event.js';
import { isRecord } from './payload.js';

/**
 * A JSON document carried as a string (kube-eventer's `EventValue`, an EventBridge `data` that was
 * not parsed), decoded, then checked as a v1.Event.
 */
const eventInJson = z
  .union([
    z.string().transform((text, ctx) => {
      const parsed = parseJsonOrBase64Json(text);
      if (parsed === undefined) ctx.addIssue({ code: 'custom', message: 'must be a JSON v1.Event (as text, base64 text, or an object)' });
      return parsed;
    }),
    z.record(z.string(), z.unknown()),
  ])
  .pipe(k8sEventSchema);

function parseJsonOrBase64Json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // EventBridge's PutEvents carries `data` as base64 on the wire; a consumer that skips the
    // JSON decoding sees it so.
    if (!isBase64(text)) return undefined;
    try {
      return JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
    } catch {
      return undefined;
    }
  }
}

/**
 * One message of kube-eventer's Kafka sink (`--sink=kafka:?brokers=…&eventstopic=…`, default topic
 * `heapster-events`). kube-eventer json.Marshals a KafkaSinkPoint
 * (github.com/AliyunContainerService/kube-eventer sinks/kafka/driver.go, common/kafka/kafka.go):
 * `{ "EventValue": "<v1.Event, json.MarshalIndent>", "EventTimestamp": "<RFC 3339>",
 *    "EventTags": { "eventID": "<uid>", "pod_id": …, "pod_name": …, "hostname": … } }`.
 * The webhook's default-template fields (`EventType`, `EventKind`, …) are tolerated beside it.
 */
export const kubeEventerKafkaSchema = z
  .looseObject({
    EventValue: eventInJson,
    EventTimestamp: z.string().optional(),
    EventTags: z.record(z.string(), z.string()).optional(),
  })
  .transform((message): CoreV1Event => message.EventValue);

export function isKubeEventerKafka(value: unknown): boolean {
  return isRecord(value) && 'EventValue' in value;
}

/** CloudEvents source kube-eventer's EventBridge sink sets (sinks/eventbridge/driver.go `aliyunContainerServiceSource`). */
export const KUBE_EVENTER_EVENTBRIDGE_SOURCE = 'acs.cs';

/**
 * One CloudEvent from kube-eventer's EventBridge sink (`--sink=eventbridge:?clusterId=…`): `source:
 * 'acs.cs'`, `type: 'cs:k8s:<InvolvedKind>RelatedEvent'`, `subject:
 * 'acs:cs:<region>:<account>:<cluster>/apis/v1/namespaces/<ns>/pods/<name>'`, `datacontenttype:
 * 'application/json'`, `data`: the json.Marshal of the v1.Event.
 */
export const kubeEventerEventBridgeSchema = z
  .looseObject({
    id: z.string(),
    source: z.literal(KUBE_EVENTER_EVENTBRIDGE_SOURCE),
    type: z.string().startsWith('cs:k8s:'),
    subject: z.string().optional(),
    time: z.string().optional(),
    data: eventInJson,
  })
  .transform((cloudEvent): CoreV1Event => cloudEvent.data);

export function isKubeEventerEventBridge(value: unknown): boolean {
  return isRecord(value) && value.source === KUBE_EVENTER_EVENTBRIDGE_SOURCE && typeof value.type === 'string' && value.type.startsWith('cs:k8s:');
}

/** The `format` marker our webhook body template writes (deploy/kube-eventer-webhook-template.yaml). */
export const KUBE_EVENTER_WEBHOOK_FORMAT = 'sparkfn/kube-eventer-webhook/v1';

/**
 * The body kube-eventer's webhook sink posts when it renders our template:
 * `{ "format": "sparkfn/kube-eventer-webhook/v1", "event": { …v1.Event… } }`. kube-eventer's
 * template has no JSON function, so the template spells the event out field by field and leaves
 * empty strings for unset ones (decoded as absent); `related` and `series` are not sent.
 */
export const kubeEventerWebhookSchema = z
  .looseObject({ format: z.literal(KUBE_EVENTER_WEBHOOK_FORMAT), event: k8sEventSchema })
  .transform((body): CoreV1Event => body.event);

export function isKubeEventerWebhook(value: unknown): boolean {
  return isRecord(value) && value.format === KUBE_EVENTER_WEBHOOK_FORMAT;
}

/**
 * Rewrites the escapes Go's `printf "%q"` can emit that JSON does not allow (`\a`, `\v`, `\xNN`,
 * `\UXXXXXXXX`) into JSON escapes. Our template quotes strings with `%q`, which matches JSON for
 * every printable character; these only appear for control characters or unprintable astral ones
 * in an event message. Left-to-right matching of `\\.` keeps an escaped backslash intact.
 * @example repairGoQuotedJson('{"m":"bell\\a"}') // '{"m":"bell\\u0007"}'
 */
export function repairGoQuotedJson(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8}|[\s\S])/g, (escape: string, body: string) => {
    if (body === 'a') return '\\u0007';
    if (body === 'v') return '\\u000b';
    if (body.startsWith('x')) return `\\u00${body.slice(1)}`;
    if (body.startsWith('U')) {
      const codePoint = Number.parseInt(body.slice(1), 16);
      if (codePoint > 0x10ffff) return escape;
      const units = String.fromCodePoint(codePoint);
      return Array.from({ length: units.length }, (_, i) => `\\u${units.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
    }
    return escape;
  });
}
