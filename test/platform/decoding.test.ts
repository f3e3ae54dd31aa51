import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../shared/errors.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import type { HttpInput, K8sEventsInput, KafkaBatchInput, KafkaRecord, ScheduleInput } from '../../shared/platform/trigger.js';
import { loadEvent, loadEventBytes } from '../support/events.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- fixtures are edited freely below

const kafka = (payload: unknown, options = {}) => normalizeTrigger(payload, options) as KafkaBatchInput;
const k8s = (payload: unknown) => normalizeTrigger(payload) as K8sEventsInput;
const http = (payload: unknown) => normalizeTrigger(payload) as HttpInput;

const APP = 'spark-4f9c2e7a1b3d4c5e8f6a7b8c9d0e1f2a';
/** What a record is, without the headers some transports cannot carry. */
const essence = (r: KafkaRecord) => ({ topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value });

describe('Lambda Kafka decoding', () => {
  it('decodes base64 keys and values to the exact bytes and header byte arrays to Buffers', () => {
    const raw = loadEvent('lambda/self-managed-kafka') as Json;
    const first = raw.records['spark-logs-0'][0];
    const input = kafka(raw);
    const record = input.records[0]!;
    expect(record.key).toEqual(Buffer.from(first.key, 'base64'));
    expect(record.key!.toString()).toBe(`spark/${APP}/1`);
    expect(record.value).toEqual(Buffer.from(first.value, 'base64'));
    expect(JSON.parse(record.value!.toString()).kubernetes.labels['spark-exec-id']).toBe('1');
    expect(record.headers).toEqual({ 'content-type': Buffer.from('application/json'), 'x-forwarded-by': Buffer.from('filebeat') });
    expect(record).toMatchObject({ topic: 'spark-logs', partition: 0, offset: '1283', timestamp: 1747188902429 });
  });

  it('keeps Lambda order: partition by partition, offsets ascending', () => {
    expect(kafka(loadEvent('lambda/msk')).records.map((r) => `${r.partition}@${r.offset}`)).toEqual(['0@1283', '0@1284', '2@977']);
  });

  it('reads negative (signed Java) header bytes as the same byte', () => {
    const raw = loadEvent('lambda/msk') as Json;
    raw.records['spark-logs-0'][0].headers = [{ trace: [-1, 0, 127, -128] }];
    expect(kafka(raw).records[0]!.headers.trace).toEqual(Buffer.from([0xff, 0x00, 0x7f, 0x80]));
  });

  it('turns a missing key into null and a tombstone into a null value', () => {
    const raw = loadEvent('lambda/msk') as Json;
    delete raw.records['spark-logs-2'][0].key;
    raw.records['spark-logs-2'][0].value = null;
    const record = kafka(raw).records[2]!;
    expect(record.key).toBeNull();
    expect(record.value).toBeNull();
  });

  it('accepts the aws:SelfManagedKafka spelling as the same source', () => {
    const raw = loadEvent('lambda/self-managed-kafka') as Json;
    raw.eventSource = 'aws:SelfManagedKafka';
    expect(kafka(raw).source).toBe('aws:SelfManagedKafka');
  });
});

describe('FC Kafka through EventBridge', () => {
  it('yields the same records from CloudEvents, string-wrapped CloudEvents and RawData', () => {
    const objects = kafka(loadEvent('fc/eventbridge-kafka')).records;
    expect(kafka(loadEvent('fc/eventbridge-kafka-strings')).records).toEqual(objects);
    expect(kafka(loadEvent('fc/eventbridge-kafka-rawdata')).records).toEqual(objects);
  });

  it('decodes the text value to the bytes Lambda delivers base64 for the same messages', () => {
    const fc = kafka(loadEvent('fc/eventbridge-kafka')).records.map(essence);
    const lambda = kafka(loadEvent('lambda/self-managed-kafka')).records.map(essence);
    expect(fc).toEqual(lambda);
  });

  it('decodes base64 values, keys and header strings when the deployment says they are base64', () => {
    const raw = loadEvent('fc/eventbridge-kafka-rawdata') as Json;
    raw[0].value = Buffer.from([0x1f, 0x8b, 0x08, 0x00]).toString('base64');
    raw[0].key = Buffer.from('k1').toString('base64');
    raw[0].headers = { headers: [{ key: 'codec', value: Buffer.from('gzip').toString('base64') }], isReadOnly: false };
    const record = kafka(raw.slice(0, 1), { fcKafkaEncoding: 'base64' }).records[0]!;
    expect(record.value).toEqual(Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
    expect(record.key).toEqual(Buffer.from('k1'));
    expect(record.headers).toEqual({ codec: Buffer.from('gzip') });
  });

  it('refuses a value that is not base64 when the deployment says base64, instead of guessing', () => {
    expect(() => kafka(loadEvent('fc/eventbridge-kafka'), { fcKafkaEncoding: 'base64' })).toThrow(/value must be base64/);
  });

  it('reads text header values and a value already parsed as JSON', () => {
    const raw = loadEvent('fc/eventbridge-kafka') as Json;
    raw[0].data.headers = { headers: [{ key: 'source', value: 'filebeat' }], isReadOnly: true };
    raw[0].data.value = { message: 'hi', n: 1 };
    const record = kafka(raw).records[0]!;
    expect(record.headers).toEqual({ source: Buffer.from('filebeat') });
    expect(record.value!.toString()).toBe('{"message":"hi","n":1}');
  });
});

describe('HTTP decoding', () => {
  it('reads a function URL event: method, decoded path, query, lower-case headers, cookies', () => {
    const input = http(loadEvent('lambda/http-api-v2'));
    expect(input).toMatchObject({ method: 'GET', path: `/logs/${APP}/1/stderr`, query: { tail: '200', namespace: 'spark-jobs' } });
    expect(input.headers.cookie).toBe('sparkui_session=4f1c2a9b');
    expect(input.headers.host).toBe('abcdefghijklmnop.lambda-url.us-east-1.on.aws');
    expect(input.body).toEqual(Buffer.alloc(0));
  });

  it('decodes a base64 body to its bytes and percent-encoding in the path', () => {
    const raw = loadEvent('lambda/http-api-v2') as Json;
    raw.rawPath = '/logs/app%20one/1/stderr';
    raw.rawQueryString = 'tag=a&tag=b&q=x%2By';
    raw.body = Buffer.from([0, 1, 254, 255]).toString('base64');
    raw.isBase64Encoded = true;
    raw.requestContext.domainName = 'abc123.execute-api.us-east-1.amazonaws.com';
    const input = http(raw);
    expect(input.path).toBe('/logs/app one/1/stderr');
    expect(input.query).toEqual({ tag: 'a,b', q: 'x+y' });
    expect(input.body).toEqual(Buffer.from([0, 1, 254, 255]));
    expect(input.source).toBe('aws:apigateway-v2');
  });

  it('reads an FC HTTP trigger event with mixed-case headers and a text body', () => {
    const raw = loadEvent('fc/http') as Json;
    raw.body = 'hello';
    const input = http(raw);
    expect(input).toMatchObject({ method: 'GET', path: `/logs/${APP}/2/stdout`, query: { namespace: 'spark-jobs', start: '0', end: '65535' } });
    expect(input.headers['user-agent']).toBe('curl/8.5.0');
    expect(input.body.toString()).toBe('hello');
  });

  it('refuses a path that is not valid percent-encoding', () => {
    const raw = loadEvent('fc/http') as Json;
    raw.rawPath = '/logs/%E0%A4%A';
    expect(() => http(raw)).toThrow(InvalidInputError);
  });
});

describe('schedule decoding', () => {
  it('reads the EventBridge rule and time', () => {
    expect(normalizeTrigger(loadEvent('lambda/schedule'))).toEqual<ScheduleInput>({
      kind: 'schedule', source: 'aws.events', time: Date.UTC(2025, 4, 14, 3), name: 'arn:aws:events:us-east-1:123456789012:rule/sparkfn-janitor-hourly',
    });
  });

  it('reads the FC timer name, time and trigger message', () => {
    expect(normalizeTrigger(loadEvent('fc/timer'))).toEqual<ScheduleInput>({
      kind: 'schedule', source: 'acs:fc:timer', time: Date.UTC(2025, 4, 14, 3), name: 'janitor-hourly', payload: '{"dryRun":false}',
    });
  });
});

describe('Kubernetes event decoding', () => {
  it('decodes timestamps to Dates and drops null and empty fields', () => {
    const [event] = k8s(loadEvent('k8s/event')).events;
    expect(event!.lastTimestamp).toEqual(new Date('2025-05-14T02:31:47Z'));
    expect(event!.metadata.creationTimestamp).toEqual(new Date('2025-05-14T02:31:47Z'));
    expect(event).not.toHaveProperty('eventTime');
    expect(event).not.toHaveProperty('reportingInstance');
    expect(event).toMatchObject({ reason: 'SparkApplicationCompleted', count: 1, involvedObject: { kind: 'SparkApplication', name: 'etl-orders-daily' } });
  });

  it('gives the same event from kube-eventer Kafka (EventValue JSON) as from the raw object inside it', () => {
    const raw = loadEvent('k8s/kube-eventer-kafka') as Json;
    expect(k8s(raw).events).toEqual(k8s(JSON.parse(raw.EventValue)).events);
  });

  it('reads an EventBridge CloudEvent whose data arrives as JSON text or as base64', () => {
    const raw = loadEvent('k8s/kube-eventer-eventbridge') as Json;
    const expected = k8s(raw).events;
    expect(k8s({ ...raw, data: JSON.stringify(raw.data) }).events).toEqual(expected);
    expect(k8s({ ...raw, data: Buffer.from(JSON.stringify(raw.data)).toString('base64') }).events).toEqual(expected);
  });

  it('drops the empty strings our webhook template writes for unset fields', () => {
    const [event] = k8s(loadEvent('k8s/kube-eventer-webhook')).events;
    expect(event!.involvedObject).not.toHaveProperty('fieldPath');
    expect(event!.source).toEqual({ component: 'EciService' });
    expect(event).not.toHaveProperty('action');
    expect(event).toMatchObject({ reason: 'SpotToBeReleased', type: 'Warning', metadata: { uid: 'c9d8e7f6-a5b4-4c3d-2e1f-0a9b8c7d6e5f' } });
  });

  it('yields no event for DELETED (the event TTL) and BOOKMARK watch events', () => {
    const watch = loadEvent('k8s/watch-event') as Json;
    expect(k8s({ ...watch, type: 'DELETED' }).events).toEqual([]);
    expect(k8s({ type: 'BOOKMARK', object: { kind: 'Event', apiVersion: 'v1', metadata: { resourceVersion: '88413100' } } }).events).toEqual([]);
  });

  it('refuses a watch ERROR with the Status message, so the caller relists', () => {
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 303 (310)', reason: 'Expired', code: 410 };
    expect(() => normalizeTrigger({ type: 'ERROR', object: status })).toThrow(/410 Expired: too old resource version/);
  });

  it('accepts events already decoded in process (Dates and Buffers in the local shape)', () => {
    const [event] = k8s(loadEvent('k8s/event')).events;
    const local = { kind: 'k8s-events', events: [event] };
    expect(k8s(local).events).toEqual([event]);
  });
});

describe('payload forms', () => {
  it('reads FC’s Buffer and a JSON string the same as the parsed object', () => {
    for (const name of ['fc/eventbridge-kafka', 'fc/timer', 'k8s/kube-eventer-webhook', 'local/kafka']) {
      const fromObject = normalizeTrigger(loadEvent(name));
      expect(normalizeTrigger(loadEventBytes(name))).toEqual(fromObject);
      expect(normalizeTrigger(loadEventBytes(name).toString('utf8'))).toEqual(fromObject);
    }
  });

  it('reads a Buffer with a byte order mark', () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), loadEventBytes('fc/timer')]);
    expect(normalizeTrigger(withBom).kind).toBe('schedule');
  });

  it('reads local bytes given as text, as base64 and as a Buffer', () => {
    const local = loadEvent('local/kafka') as Json;
    const record = local.records[0];
    local.records = [
      { ...record, value: 'plain text' },
      { ...record, value: { base64: Buffer.from([0, 255]).toString('base64') } },
      { ...record, value: Buffer.from([1, 2, 3]), key: null },
    ];
    const values = kafka(local).records.map((r) => r.value);
    expect(values).toEqual([Buffer.from('plain text'), Buffer.from([0, 255]), Buffer.from([1, 2, 3])]);
  });
});
