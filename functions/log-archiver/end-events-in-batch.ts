import type { CoreV1Event } from '@kubernetes/client-node';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import type { KafkaBatchInput, KafkaRecord } from '../../shared/platform/trigger.js';

/**
 * kube-eventer's Kafka sink json.Marshals a KafkaSinkPoint, whose first field is EventValue: a
 * record value starting so (whitespace allowed, as a re-encoding producer may indent) is an
 * event, not a log line. Checked on the raw bytes, so log records (nearly all of a batch) are
 * never parsed twice.
 */
const FIRST_KEY = Buffer.from('"EventValue"');
const OPEN_BRACE = 0x7b;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function looksLikeSinkMessage(value: Buffer | null): value is Buffer {
  if (!value) return false;
  let at = 0;
  while (at < value.length && WHITESPACE.has(value[at]!)) at++;
  if (value[at] !== OPEN_BRACE) return false;
  at++;
  while (at < value.length && WHITESPACE.has(value[at]!)) at++;
  return value.length - at >= FIRST_KEY.length && value.subarray(at, at + FIRST_KEY.length).equals(FIRST_KEY);
}

/**
 * Splits a Kafka batch into the Kubernetes events kube-eventer's Kafka sink put in it (when its
 * topic is wired to log-archiver's Kafka trigger, as FC and Lambda do to end apps without
 * `sparkfn serve`) and the log records. A record that looks like a sink message but does not
 * decode stays with the log records, to be archived or dead-lettered with its reason.
 * @example const { events, logs } = splitEndEvents(batch); // events: [SparkApplicationCompleted …], logs: the rest of the batch
 */
export function splitEndEvents(input: KafkaBatchInput): { events: CoreV1Event[]; logs: KafkaBatchInput } {
  const events: CoreV1Event[] = [];
  const logs: KafkaRecord[] = [];
  for (const record of input.records) {
    if (!looksLikeSinkMessage(record.value)) {
      logs.push(record);
      continue;
    }
    try {
      const inner = normalizeTrigger(record.value);
      if (inner.kind !== 'k8s-events') throw new Error(inner.kind);
      events.push(...inner.events);
    } catch {
      logs.push(record);
    }
  }
  return { events, logs: { ...input, records: logs } };
}
