import * as z from 'zod';
import type { KafkaRecord } from './trigger.js';
import { byteArray, isBase64 } from './bytes.js';
import { isRecord } from './payload.js';

/** CloudEvents `source` of ApsaraMQ for Kafka messages delivered by EventBridge. */
export const FC_KAFKA_SOURCE = 'acs:alikafka';

/**
 * How EventBridge wrote the Kafka key, value and header strings.
 *
 * - `text` (default): the bytes decoded as UTF-8, which is what every published sample shows
 *   (`"value": "{\"name\":\"shaouai\",…}"`, and a Python producer's `b'…'` repr arriving verbatim),
 *   https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/user-guide/apsaramq-for-kafka-triggers.
 *   UTF-8 payloads (Filebeat's JSON) round-trip exactly; bytes that are not UTF-8 were already
 *   replaced by U+FFFD upstream and cannot be recovered here.
 * - `base64`: for an event stream configured to deliver binary values as base64. The two cannot be
 *   told apart from the payload (`aGVsbG8=` is valid text too), so this is a deployment setting,
 *   never a guess.
 */
export type FcKafkaEncoding = 'text' | 'base64';

const offset = z.union([z.number().int().min(0), z.string().regex(/^\d+$/)]);

function decodeString(text: string, encoding: FcKafkaEncoding, field: string, ctx: z.RefinementCtx): Buffer {
  if (encoding === 'text') return Buffer.from(text, 'utf8');
  if (!isBase64(text)) {
    ctx.addIssue({ code: 'custom', message: `${field} must be base64 because the Kafka encoding is set to base64` });
    return Buffer.alloc(0);
  }
  return Buffer.from(text, 'base64');
}

function stringBytes(encoding: FcKafkaEncoding, field: string) {
  return z.string().transform((text, ctx) => decodeString(text, encoding, field, ctx));
}

function schemasFor(encoding: FcKafkaEncoding) {
  const headerValue = z.union([stringBytes(encoding, 'a header value'), byteArray]);
  // Java's RecordHeaders serialised to JSON: `{ "headers": [], "isReadOnly": false }` in every
  // sample; no public sample shows a non-empty list, so entries are read as `{ key, value }`
  // (RecordHeader's fields) and a plain `{ name: value }` map is accepted as well.
  const headerEntry = z.looseObject({ key: z.string(), value: headerValue.nullable() });
  const headers = z
    .union([
      z.looseObject({ headers: z.array(headerEntry), isReadOnly: z.boolean().optional() }).transform((h) => h.headers),
      z.array(headerEntry),
      z.record(z.string(), headerValue).transform((h) => Object.entries(h).map(([key, value]) => ({ key, value }))),
    ])
    .transform((entries) => {
      const out: Record<string, Buffer> = {};
      for (const { key, value } of entries) out[key] = value ?? Buffer.alloc(0);
      return out;
    });

  const value = z.unknown().transform((v, ctx) => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return decodeString(v, encoding, 'value', ctx);
    // An event stream with a JSON transform hands the value over already parsed: its bytes are
    // re-serialised, equal as JSON but not byte for byte.
    return Buffer.from(JSON.stringify(v), 'utf8');
  });

  const data = z
    .looseObject({
      topic: z.string().min(1),
      partition: z.number().int().min(0),
      offset,
      timestamp: z.number().optional(),
      headers: headers.optional(),
      key: stringBytes(encoding, 'key').nullish(),
      value,
    })
    .transform(
      (d): KafkaRecord => ({
        topic: d.topic,
        partition: d.partition,
        offset: String(d.offset),
        ...(d.timestamp !== undefined ? { timestamp: d.timestamp } : {}),
        key: d.key ?? null,
        value: d.value,
        headers: d.headers ?? {},
      }),
    );

  const cloudEvent = z
    .looseObject({
      specversion: z.string(),
      id: z.string(),
      source: z.literal(FC_KAFKA_SOURCE),
      type: z.string(),
      subject: z.string().optional(),
      time: z.string().optional(),
      data,
    })
    .transform((event) => event.data);

  return { data, cloudEvent };
}

const SCHEMAS: Record<FcKafkaEncoding, ReturnType<typeof schemasFor>> = {
  text: schemasFor('text'),
  base64: schemasFor('base64'),
};

/**
 * One element of the JSON array an FC Kafka (EventBridge) trigger delivers with the default
 * `CloudEvents` event schema: `{ specversion, id, source: 'acs:alikafka', type:
 * 'alikafka:Topic:Message', subject, time, data: { topic, partition, offset, timestamp, headers,
 * key, value } }`, decoded to one KafkaRecord.
 */
export function fcKafkaCloudEventSchema(encoding: FcKafkaEncoding = 'text') {
  return SCHEMAS[encoding].cloudEvent;
}

/**
 * One element of the array delivered with the `RawData` event schema (DeliveryOption.eventSchema,
 * https://www.alibabacloud.com/help/en/functioncompute/api-fc-2023-03-30-struct-deliveryoption):
 * only the CloudEvent's `data` object.
 */
export function fcKafkaRawDataSchema(encoding: FcKafkaEncoding = 'text') {
  return SCHEMAS[encoding].data;
}

export function isFcKafkaCloudEvent(value: unknown): boolean {
  return isRecord(value) && value.source === FC_KAFKA_SOURCE && 'data' in value;
}

/** A RawData element: a bare Kafka message object, no CloudEvents envelope. */
export function isFcKafkaRawData(value: unknown): boolean {
  return isRecord(value) && !('specversion' in value) && 'topic' in value && 'partition' in value && 'offset' in value;
}
