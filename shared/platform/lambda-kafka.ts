import * as z from 'zod';
import type { KafkaBatchInput, KafkaRecord } from './trigger.js';
import { base64Bytes, byteArray } from './bytes.js';
import { isRecord } from './payload.js';

/**
 * The `eventSource` values Lambda uses for Kafka batches. Self-managed clusters are documented
 * as `SelfManagedKafka` (https://docs.aws.amazon.com/lambda/latest/dg/with-kafka.html) but some
 * tools and older samples write `aws:SelfManagedKafka`; MSK is `aws:kafka`.
 */
export const LAMBDA_KAFKA_SOURCES = {
  SelfManagedKafka: 'aws:SelfManagedKafka',
  'aws:SelfManagedKafka': 'aws:SelfManagedKafka',
  'aws:kafka': 'aws:kafka',
} as const;

const record = z.looseObject({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  // int64 on the wire; a JSON number loses precision past 2^53, a string (some tools) does not.
  offset: z.union([z.number().int().min(0), z.string().regex(/^\d+$/)]),
  timestamp: z.number().optional(),
  timestampType: z.string().optional(),
  // Lambda omits `key` for records without one and `value` for tombstones.
  key: base64Bytes.nullish(),
  value: base64Bytes.nullish(),
  // One object per header, each `{ name: [bytes…] }`.
  headers: z.array(z.record(z.string(), byteArray)).default(() => []),
});

/**
 * AWS Lambda's `SelfManagedKafkaEvent` and `MSKEvent` (see @types/aws-lambda): records grouped
 * by `topic-partition`, key and value base64, header values as byte arrays. Decodes to a
 * KafkaBatchInput whose records keep Lambda's order (partition by partition, offsets ascending).
 */
export const lambdaKafkaEventSchema = z
  .looseObject({
    eventSource: z.enum(Object.keys(LAMBDA_KAFKA_SOURCES) as [keyof typeof LAMBDA_KAFKA_SOURCES]),
    eventSourceArn: z.string().optional(),
    bootstrapServers: z.union([z.string(), z.array(z.string())]).nullish(),
    records: z.record(z.string(), z.array(record)),
  })
  .transform((event): KafkaBatchInput => {
    const records: KafkaRecord[] = [];
    for (const batch of Object.values(event.records)) {
      for (const r of batch) {
        // Kafka allows the same header name twice; KafkaRecord keeps one value per name, the last.
        const headers: Record<string, Buffer> = {};
        for (const header of r.headers) Object.assign(headers, header);
        records.push({
          topic: r.topic,
          partition: r.partition,
          offset: String(r.offset),
          ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}),
          key: r.key ?? null,
          value: r.value ?? null,
          headers,
        });
      }
    }
    return { kind: 'kafka', source: LAMBDA_KAFKA_SOURCES[event.eventSource], records };
  });

/** Cheap recognition, before the full parse: the event-source field is the discriminator. */
export function isLambdaKafkaEvent(value: unknown): boolean {
  return isRecord(value) && typeof value.eventSource === 'string' && value.eventSource in LAMBDA_KAFKA_SOURCES && 'records' in value;
}
