import { OPERATOR_APP_NAME_LABEL, OPERATOR_APP_NAME_LABEL_DEDOTTED, SPARK_POD_LABELS } from '../../shared/spark/app-identity.js';
import { eventTime } from './event-time.js';

/**
 * The parts of a Filebeat event (https://www.elastic.co/guide/en/beats/filebeat/current/exported-fields.html)
 * that log-archiver uses, read out of a Kafka record value. Everything else in the event
 * (`@metadata`, `agent`, `host`, `ecs`, `container`, `input`, …) is ignored.
 */
export interface FilebeatEvent {
  /** `message` as UTF-8 bytes (invalid input bytes already replaced by U+FFFD), when it is a string. */
  message: Buffer | undefined;
  /** Whether `message` was a string, absent, or something else (a number, an object, null). */
  messageType: 'string' | 'missing' | 'other';
  /** `@timestamp` read by eventTime (ms since the epoch, NaN when it is not a time), when it is a string. */
  time?: number;
  /** `stream`: stdout or stderr for the container input. */
  stream?: string;
  /** `log.file.path`. */
  logFilePath?: string;
  /** `fields.app_id`, `fields.executor_id`, `fields.app_type` (Filebeat `fields:`). */
  fields: IdFields;
  /** The same at the top level (`fields_under_root: true`). */
  root: IdFields;
  /** `kubernetes.namespace`. */
  namespace?: string;
  /** `kubernetes.pod.name`. */
  podName?: string;
  /** The Spark pod labels add_kubernetes_metadata copies. */
  labels: SparkLabels;
}

export interface IdFields {
  appId?: string;
  executorId?: string;
  appType?: string;
}

export interface SparkLabels {
  /** `spark-app-selector`: Spark sets it to the application id on the driver and every executor pod. */
  appSelector?: string;
  /** `spark-exec-id`: on executor pods. */
  execId?: string;
  /** `spark-role`: `driver` or `executor`. */
  role?: string;
  /** `spark-app-name`: `spark.app.name` as the pod's creator saw it (the app's code may change it: `PythonPi`). */
  appName?: string;
  /** `sparkoperator.k8s.io/app-name`: the SparkApplication's name, on every pod spark-operator launched. */
  operatorAppName?: string;
  /** The same label as Filebeat writes it with `labels.dedot: true` (its default): `sparkoperator_k8s_io/app-name`. */
  operatorAppNameDedotted?: string;
}

/** What a record value turned out to be. */
export type ExtractResult =
  | { kind: 'event'; event: FilebeatEvent }
  | { kind: 'invalid-json'; detail: string }
  | { kind: 'not-object'; jsonType: string };

/** Field names, as Filebeat writes them. */
export const ID_FIELD_NAMES = { appId: 'app_id', executorId: 'executor_id', appType: 'app_type' } as const;
export const SPARK_LABEL_NAMES = {
  appSelector: SPARK_POD_LABELS.appId,
  execId: SPARK_POD_LABELS.executorId,
  role: SPARK_POD_LABELS.role,
  appName: SPARK_POD_LABELS.appName,
  operatorAppName: OPERATOR_APP_NAME_LABEL,
  operatorAppNameDedotted: OPERATOR_APP_NAME_LABEL_DEDOTTED,
} as const;

/**
 * The reference reading of a record value: `JSON.parse` of the UTF-8 text, then the fields
 * above. The fast extractor must give exactly this for every input (a property test checks).
 * @example extractByParse(Buffer.from('{"message":"hi","stream":"stderr"}')).kind // 'event'
 */
export function extractByParse(value: Buffer): ExtractResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { kind: 'invalid-json', detail: (err as Error).message };
  }
  if (!isObject(parsed)) return { kind: 'not-object', jsonType: parsed === null ? 'null' : Array.isArray(parsed) ? 'array' : typeof parsed };
  return { kind: 'event', event: eventFromObject(parsed) };
}

/** The fields of an already parsed event object. */
export function eventFromObject(o: Record<string, unknown>): FilebeatEvent {
  const message = o.message;
  const fields = isObject(o.fields) ? o.fields : {};
  const kubernetes = isObject(o.kubernetes) ? o.kubernetes : {};
  const pod = isObject(kubernetes.pod) ? kubernetes.pod : {};
  const labels = isObject(kubernetes.labels) ? kubernetes.labels : {};
  const log = isObject(o.log) ? o.log : {};
  const file = isObject(log.file) ? log.file : {};
  const event: FilebeatEvent = {
    message: typeof message === 'string' ? Buffer.from(message, 'utf8') : undefined,
    messageType: typeof message === 'string' ? 'string' : message === undefined ? 'missing' : 'other',
    fields: idFields(fields),
    root: idFields(o),
    labels: dropUndefined({
      appSelector: text(labels[SPARK_LABEL_NAMES.appSelector]),
      execId: text(labels[SPARK_LABEL_NAMES.execId]),
      role: text(labels[SPARK_LABEL_NAMES.role]),
      appName: text(labels[SPARK_LABEL_NAMES.appName]),
      operatorAppName: text(labels[SPARK_LABEL_NAMES.operatorAppName]),
      operatorAppNameDedotted: text(labels[SPARK_LABEL_NAMES.operatorAppNameDedotted]),
    }),
  };
  const timestamp = text(o['@timestamp']);
  if (timestamp !== undefined) event.time = eventTime(timestamp);
  setIf(event, 'stream', text(o.stream));
  setIf(event, 'logFilePath', text(file.path));
  setIf(event, 'namespace', text(kubernetes.namespace));
  setIf(event, 'podName', text(pod.name));
  return event;
}

function idFields(o: Record<string, unknown>): IdFields {
  return dropUndefined({
    appId: id(o[ID_FIELD_NAMES.appId]),
    executorId: id(o[ID_FIELD_NAMES.executorId]),
    appType: id(o[ID_FIELD_NAMES.appType]),
  });
}

/** Ids may be configured as YAML numbers (`executor_id: 1`); they mean the same text. */
function id(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setIf<K extends keyof FilebeatEvent>(event: FilebeatEvent, key: K, value: FilebeatEvent[K] | undefined): void {
  if (value !== undefined) event[key] = value;
}

function dropUndefined<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  return o;
}
