import type { CoreV1Event } from '@kubernetes/client-node';
import type { z } from 'zod';
import { InvalidInputError, UnknownTriggerError } from '../errors.js';
import type { KafkaRecord, TriggerInput } from './trigger.js';
import { dedupeEvents } from './dedupe-events.js';
import {
  type FcKafkaEncoding,
  FC_KAFKA_SOURCE,
  fcKafkaCloudEventSchema,
  fcKafkaRawDataSchema,
  isFcKafkaCloudEvent,
  isFcKafkaRawData,
} from './fc-eventbridge-kafka.js';
import { fcHttpSchema, isFcHttp, isLambdaHttp, lambdaHttpSchema } from './http-event.js';
import { isK8sEvent, isK8sEventList, isK8sWatchEvent, k8sEventListSchema, k8sEventSchema, k8sWatchEventSchema } from './k8s-event.js';
import {
  KUBE_EVENTER_WEBHOOK_FORMAT,
  isKubeEventerEventBridge,
  isKubeEventerKafka,
  isKubeEventerWebhook,
  kubeEventerEventBridgeSchema,
  kubeEventerKafkaSchema,
  kubeEventerWebhookSchema,
  repairGoQuotedJson,
} from './kube-eventer.js';
import { isK8sObjectWatchEvent, k8sObjectWatchEventSchema } from './k8s-object.js';
import { isLambdaKafkaEvent, lambdaKafkaEventSchema } from './lambda-kafka.js';
import { isLocalInput, localInputSchema } from './local.js';
import { parseShape } from './parse-shape.js';
import { isRecord, parsePayload } from './payload.js';
import { fcTimerSchema, isFcTimer, isLambdaSchedule, lambdaScheduleSchema } from './schedule.js';

/** Choices an adapter makes for a whole deployment, never guessed per payload. */
export interface NormalizeOptions {
  /** How an FC Kafka (EventBridge) trigger wrote keys, values and header strings; default `text`. */
  fcKafkaEncoding?: FcKafkaEncoding;
}

/** A shape that is a whole trigger payload by itself. */
interface WholeShape {
  name: string;
  matches(value: unknown): boolean;
  parse(value: unknown, options: NormalizeOptions): TriggerInput;
}

/** A shape that may stand alone or be one element of a JSON array (EventBridge batches, lists of K8s events). */
type ElementShape =
  | { name: string; group: 'kafka'; source: string; matches(value: unknown): boolean; parse(value: unknown, options: NormalizeOptions): KafkaRecord }
  | { name: string; group: 'k8s-events'; source: string; matches(value: unknown): boolean; parse(value: unknown): CoreV1Event[] };

const one =
  <S extends z.ZodType>(schema: S, name: string) =>
  (value: unknown) =>
    parseShape(schema, value, name);

// Order matters only where shapes could overlap: `local` first (its `kind` values are ours alone),
// EventList before v1.Event, the kube-eventer envelopes before the bare event they contain.
const WHOLE_SHAPES: readonly WholeShape[] = [
  {
    name: 'local: an already-normalized input {"kind":"kafka"|"schedule"|"http"|"k8s-events"|"k8s-objects",…} (see shared/platform/local.ts)',
    matches: isLocalInput,
    parse: (v) => parseShape(localInputSchema, v, 'a local input'),
  },
  {
    name: 'AWS Lambda SelfManagedKafkaEvent / MSKEvent {"eventSource":"SelfManagedKafka"|"aws:kafka","records":{"topic-partition":[…]}}',
    matches: isLambdaKafkaEvent,
    parse: (v) => parseShape(lambdaKafkaEventSchema, v, 'a Lambda Kafka event'),
  },
  {
    name: 'AWS EventBridge Scheduled Event {"source":"aws.events","detail-type":"Scheduled Event",…}',
    matches: isLambdaSchedule,
    parse: (v) => parseShape(lambdaScheduleSchema, v, 'an EventBridge Scheduled Event'),
  },
  {
    name: 'AWS API Gateway HTTP API v2 / Lambda function URL event {"version":"2.0","rawPath",…}',
    matches: isLambdaHttp,
    parse: (v) => parseShape(lambdaHttpSchema, v, 'an API Gateway v2 / function URL event'),
  },
  {
    name: 'Alibaba FC timer trigger {"triggerTime","triggerName","payload"}',
    matches: isFcTimer,
    parse: (v) => parseShape(fcTimerSchema, v, 'an FC timer trigger event'),
  },
  {
    name: 'Kubernetes watch event of an object {"type":"ADDED"|"MODIFIED"|"DELETED","object":{"kind":"Pod"|"SparkApplication"|…}}',
    matches: isK8sObjectWatchEvent,
    parse: (v) => parseShape(k8sObjectWatchEventSchema, v, 'a Kubernetes object watch event'),
  },
  {
    name: 'Alibaba FC 3.0 HTTP trigger event {"version":"v1","rawPath","requestContext":{"http":…},…}',
    matches: isFcHttp,
    parse: (v) => parseShape(fcHttpSchema, v, 'an FC HTTP trigger event'),
  },
];

const ELEMENT_SHAPES: readonly ElementShape[] = [
  {
    name: 'Alibaba FC Kafka trigger (EventBridge): a JSON array of CloudEvents {"source":"acs:alikafka","type":"alikafka:Topic:Message","data":{…}}, possibly each JSON-encoded as a string',
    group: 'kafka',
    source: FC_KAFKA_SOURCE,
    matches: isFcKafkaCloudEvent,
    parse: (v, o) => parseShape(fcKafkaCloudEventSchema(o.fcKafkaEncoding), v, 'an ApsaraMQ for Kafka CloudEvent'),
  },
  {
    name: 'Alibaba FC Kafka trigger with the RawData event schema: a JSON array of {"topic","partition","offset","key","value",…}',
    group: 'kafka',
    source: FC_KAFKA_SOURCE,
    matches: isFcKafkaRawData,
    parse: (v, o) => parseShape(fcKafkaRawDataSchema(o.fcKafkaEncoding), v, 'an ApsaraMQ for Kafka RawData message'),
  },
  {
    name: 'Kubernetes EventList {"kind":"EventList","items":[…]}',
    group: 'k8s-events',
    source: 'k8s:list',
    matches: isK8sEventList,
    parse: one(k8sEventListSchema, 'a Kubernetes EventList'),
  },
  {
    name: 'Kubernetes watch event {"type":"ADDED"|"MODIFIED"|…,"object":{…v1.Event…}}',
    group: 'k8s-events',
    source: 'k8s:watch',
    matches: isK8sWatchEvent,
    parse: one(k8sWatchEventSchema, 'a Kubernetes watch event'),
  },
  {
    name: 'kube-eventer Kafka sink message {"EventValue":"<v1.Event JSON>","EventTimestamp","EventTags"}',
    group: 'k8s-events',
    source: 'kube-eventer:kafka',
    matches: isKubeEventerKafka,
    parse: (v) => [parseShape(kubeEventerKafkaSchema, v, 'a kube-eventer Kafka sink message')],
  },
  {
    name: 'kube-eventer EventBridge sink CloudEvent {"source":"acs.cs","type":"cs:k8s:…","data":{…v1.Event…}}',
    group: 'k8s-events',
    source: 'kube-eventer:eventbridge',
    matches: isKubeEventerEventBridge,
    parse: (v) => [parseShape(kubeEventerEventBridgeSchema, v, 'a kube-eventer EventBridge CloudEvent')],
  },
  {
    name: `kube-eventer webhook sink with our body template {"format":"${KUBE_EVENTER_WEBHOOK_FORMAT}","event":{…}} (deploy/kube-eventer-webhook-template.yaml)`,
    group: 'k8s-events',
    source: 'kube-eventer:webhook',
    matches: isKubeEventerWebhook,
    parse: (v) => [parseShape(kubeEventerWebhookSchema, v, 'a kube-eventer webhook body')],
  },
  {
    name: 'Kubernetes core/v1 Event {"kind":"Event","metadata":{"uid"},"involvedObject",…}',
    group: 'k8s-events',
    source: 'k8s:event',
    matches: isK8sEvent,
    parse: (v) => [parseShape(k8sEventSchema, v, 'a Kubernetes v1.Event')],
  },
];

/** Every payload shape `normalizeTrigger` accepts, one line each (for error messages, docs and `sparkfn invoke --help`). */
export const ACCEPTED_TRIGGER_SHAPES: readonly string[] = [
  ...WHOLE_SHAPES.map((s) => s.name),
  ...ELEMENT_SHAPES.map((s) => s.name),
  'a JSON array of any of the Kubernetes shapes above (mixed freely), deduplicated by event uid + count',
];

/**
 * Turns any trigger payload we accept into the platform-neutral TriggerInput. Dispatches on the
 * shape with a table, like middy's event-normalizer does on `eventSource`: the first shape whose
 * discriminating fields match is parsed strictly with its zod schema, which also decodes (base64
 * keys and values, header bytes, timestamps). `payload` may be a parsed object, JSON text, or the
 * Buffer FC hands over.
 *
 * @throws UnknownTriggerError when no shape matches; its message lists every accepted shape.
 * @throws InvalidInputError when a shape matches but the payload breaks it (names the shape and field).
 * @example
 * const input = normalizeTrigger(fcEventBuffer);
 * if (input.kind === 'kafka') console.log(input.records.length, input.records[0]?.value?.toString());
 */
export function normalizeTrigger(payload: unknown, options: NormalizeOptions = {}): TriggerInput {
  const value = parseJson(payload);
  if (Array.isArray(value)) return normalizeArray(value, options);
  for (const shape of WHOLE_SHAPES) {
    if (shape.matches(value)) return shape.parse(value, options);
  }
  const element = ELEMENT_SHAPES.find((shape) => shape.matches(value));
  if (element) return build(element.group, [{ shape: element, value }], options);
  throw unknownTrigger(`No trigger shape matches this payload (${describe(value)}).`);
}

function parseJson(payload: unknown): unknown {
  const parsed = parsePayload(payload);
  if (parsed.ok) return parsed.value;
  // Our webhook template quotes with Go's %q, which can emit escapes JSON lacks (kube-eventer.ts).
  const text = typeof payload === 'string' ? payload : payload instanceof Uint8Array ? Buffer.from(payload).toString('utf8') : '';
  if (text.includes(KUBE_EVENTER_WEBHOOK_FORMAT)) {
    const repaired = parsePayload(repairGoQuotedJson(text));
    if (repaired.ok) return repaired.value;
  }
  throw unknownTrigger(`No trigger shape matches this payload: ${parsed.reason}.`);
}

function normalizeArray(items: unknown[], options: NormalizeOptions): TriggerInput {
  if (items.length === 0) {
    throw new InvalidInputError('The payload is an empty JSON array: there is nothing to process.', 'empty-trigger');
  }
  const matched = items.map((item, index) => {
    // Some EventBridge deliveries put each CloudEvent in the array as a JSON-encoded string.
    const value = typeof item === 'string' ? parseElementText(item, index) : item;
    const shape = ELEMENT_SHAPES.find((s) => s.matches(value));
    if (!shape) throw unknownTrigger(`No trigger shape matches element ${index} of the payload array (${describe(value)}).`);
    return { shape, value };
  });
  const groups = new Set(matched.map((m) => m.shape.group));
  if (groups.size > 1) {
    throw new InvalidInputError(
      `The payload array mixes Kafka messages and Kubernetes events (element 0 is ${matched[0]?.shape.group}, another is not); one invocation carries one kind.`,
      'mixed-trigger',
    );
  }
  return build(matched[0]!.shape.group, matched, options);
}

function parseElementText(text: string, index: number): unknown {
  const parsed = parsePayload(text);
  if (!parsed.ok) throw unknownTrigger(`Element ${index} of the payload array is a string, and ${parsed.reason}.`);
  return parsed.value;
}

function build(group: ElementShape['group'], matched: { shape: ElementShape; value: unknown }[], options: NormalizeOptions): TriggerInput {
  const source = [...new Set(matched.map((m) => m.shape.source))].join('+');
  if (group === 'kafka') {
    const records = matched.map(({ shape, value }) => (shape.group === 'kafka' ? shape.parse(value, options) : unreachable()));
    return { kind: 'kafka', source, records };
  }
  const events = matched.flatMap(({ shape, value }) => (shape.group === 'k8s-events' ? shape.parse(value) : unreachable()));
  return { kind: 'k8s-events', source, events: dedupeEvents(events) };
}

function unreachable(): never {
  throw new Error('Element shapes of different groups were mixed; normalizeArray should have refused them.');
}

function unknownTrigger(first: string): UnknownTriggerError {
  return new UnknownTriggerError(`${first} Accepted shapes:\n${ACCEPTED_TRIGGER_SHAPES.map((s) => `  - ${s}`).join('\n')}`);
}

/** A short, safe description of what was received, for the error message: type and top-level keys, never values. */
function describe(value: unknown): string {
  if (isRecord(value)) {
    const keys = Object.keys(value);
    const shown = keys.slice(0, 12).map((k) => JSON.stringify(k.slice(0, 40)));
    return `a JSON object with keys ${shown.join(', ') || '(none)'}${keys.length > 12 ? ', …' : ''}`;
  }
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : `a ${typeof value}`;
}
