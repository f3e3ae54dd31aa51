import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClients } from '../../shared/k8s/client.js';
import { fcHandler } from '../../shared/platform/fc.js';
import { KUBE_EVENTER_WEBHOOK_FORMAT } from '../../shared/platform/kube-eventer.js';
import { depsFromEnvironment } from '../../shared/platform/runtime.js';
import { SPARK_APPLICATION_API } from '../../shared/spark/spark-application-lookup.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import type { CostRecord } from '../../functions/job-cost/cost-record.js';
import { handler as costFc } from '../../functions/job-cost/fc.js';
import { fn as costFn } from '../../functions/job-cost/handler.js';
import { handler as costLambda } from '../../functions/job-cost/lambda.js';
import { handler as archiverFc } from '../../functions/log-archiver/fc.js';
import { handler as archiverLambda } from '../../functions/log-archiver/lambda.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { loadEvent, loadEventBytes } from '../support/events.js';
import { startS3rver, type S3rverHarness } from '../support/s3rver.js';
import { EXAMPLE_PRICES, PI_APP_ID, PI_LOG_KEY, piEventLog } from './support.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- platform payloads are edited freely below

const NS = 'spark-team-a';
const APP = 'spark-pi-python';
const DRIVER = `${APP}-driver`;
const EXECUTOR = 'pythonpi-009fa697a98f0548-exec-1';
const RECORD_KEY = `costs/dt=2025-06-26/${NS}/${PI_APP_ID}.json`;
const LOG_TOPIC = 'spark-logs';
const EVENTS_TOPIC = 'heapster-events';
const lambdaContext = { getRemainingTimeInMillis: () => 60_000 };
const fcContext = { requestId: 'r-1', function: { name: 'sparkfn', timeout: 60 } };

/** The SparkApplication's life as spark-operator v2.5.2 records it (events/job-cost/spark-pi-python/life.json). */
const life = () => loadEvent('job-cost/spark-pi-python/life') as CoreV1Event[];

/** kube-eventer's three sinks around one event, as sinks/webhook (our template), sinks/kafka and sinks/eventbridge send them. */
const sink = {
  webhook: (event: CoreV1Event) => Buffer.from(JSON.stringify({ format: KUBE_EVENTER_WEBHOOK_FORMAT, event: { ...event, action: '' } })),
  kafka: (event: CoreV1Event) => {
    const { kind: _kind, apiVersion: _apiVersion, ...value } = event as Json;
    return Buffer.from(JSON.stringify({ EventValue: JSON.stringify(value, null, 1), EventTimestamp: value.lastTimestamp, EventTags: { eventID: value.metadata.uid, hostname: '', pod_id: '', pod_name: '' } }));
  },
  eventbridge: (event: CoreV1Event) => {
    const { kind: _kind, apiVersion: _apiVersion, ...data } = event as Json;
    return {
      specversion: '1.0',
      id: `ce-${data.metadata.uid}`,
      source: 'acs.cs',
      type: 'cs:k8s:SparkApplicationRelatedEvent',
      subject: `acs:cs:cn-hangzhou:1938858730552836:c8f2e1d3b4a5c6d7e8f9a0b1c2d3e4f5a/apis/sparkoperator.k8s.io/v1beta2/namespaces/${NS}/sparkapplications/${APP}`,
      time: data.lastTimestamp,
      datacontenttype: 'application/json',
      data,
    };
  },
};

/** A POST of `body` to a Lambda function URL. */
function lambdaUrl(body: Buffer): Json {
  const event = loadEvent('lambda/http-api-v2') as Json;
  event.requestContext.http.method = 'POST';
  event.rawPath = event.requestContext.http.path = '/';
  event.rawQueryString = '';
  event.body = body.toString('base64');
  event.isBase64Encoded = true;
  return event;
}

/** A POST of `body` to an FC 3.0 HTTP trigger, as the Buffer FC hands over. */
function fcHttp(body: Buffer): Buffer {
  const event = loadEvent('fc/http') as Json;
  event.requestContext.http.method = 'POST';
  event.rawPath = event.requestContext.http.path = '/';
  event.queryParameters = {};
  event.body = body.toString('base64');
  event.isBase64Encoded = true;
  return Buffer.from(JSON.stringify(event));
}

let offset = 1000;
/** Kafka records on a self-managed-Kafka Lambda trigger (values base64, no key). */
function lambdaKafka(topic: string, values: Buffer[]): Json {
  const event = loadEvent('lambda/self-managed-kafka') as Json;
  event.records = { [`${topic}-0`]: values.map((v) => ({ topic, partition: 0, offset: offset++, timestamp: Date.parse('2025-06-26T00:07:01Z'), timestampType: 'CREATE_TIME', value: v.toString('base64'), headers: [] })) };
  return event;
}

/** The same records through FC's Kafka trigger (EventBridge CloudEvents, values as text). */
function fcKafka(topic: string, values: Buffer[]): Buffer {
  const template = (loadEvent('fc/eventbridge-kafka') as Json[])[0];
  return Buffer.from(JSON.stringify(values.map((v) => ({ ...template, id: `kafka-${offset}`, subject: template.subject.replace(/topic:.*$/, `topic:${topic}`), data: { ...template.data, topic, partition: 0, offset: offset++, key: null, value: v.toString('utf8') } }))));
}

/** Filebeat 8 container-input documents of the real app's pods, with the labels Spark and spark-operator put on them (dedotted). */
function filebeatDoc(role: 'driver' | 'executor', message: string, at: string): Buffer {
  const doc = loadEvent(`filebeat/container-${role}`) as Json;
  const pod = role === 'driver' ? DRIVER : EXECUTOR;
  doc['@timestamp'] = at;
  doc.message = message;
  doc.kubernetes.namespace = NS;
  doc.kubernetes.pod.name = pod;
  doc.log.file.path = `/var/log/containers/${pod}_${NS}_spark-kubernetes-${role}-0123456789abcdef.log`;
  doc.kubernetes.labels = {
    // The executors are made by the driver after PythonPi's code renamed the app: spark-app-name follows spark.app.name.
    'spark-app-name': role === 'driver' ? APP : 'pythonpi',
    'spark-app-selector': PI_APP_ID,
    'spark-role': role,
    ...(role === 'executor' ? { 'spark-exec-id': '1', 'spark-exec-resourceprofile-id': '0' } : {}),
    'spark-version': '3.5.3',
    'sparkoperator_k8s_io/app-name': APP,
    'sparkoperator_k8s_io/launched-by-spark-operator': 'true',
    'sparkoperator_k8s_io/submission-id': '37383231-e716-404b-96dd-74b58edcd84f',
  };
  return Buffer.from(JSON.stringify(doc));
}

describe('without sparkfn serve: kube-eventer and the event log through the Lambda and FC adapters', () => {
  let s3: S3rverHarness;
  let store: S3ObjectStore;
  let apiserver: TestApiserver;
  const saved = { ...process.env };

  beforeAll(async () => {
    s3 = await startS3rver();
    const bucket = await s3.createBucket();
    store = new S3ObjectStore({ bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    // The entry points read the environment, as on FC and Lambda. HOME points at an empty folder
    // so that no ~/.kube/config of the machine makes a cluster appear.
    Object.assign(process.env, s3.storeEnv(bucket), {
      SPARKFN_COST_PRICE_FILE: EXAMPLE_PRICES,
      SPARKFN_COST_EVENT_LOG_PREFIX: 'spark-events/',
      SPARKFN_LOG_LEVEL: 'silent',
      HOME: await mkdtemp(join(tmpdir(), 'sparkfn-home-')),
    });
    for (const name of ['SPARKFN_K8S_URL', 'KUBECONFIG', 'SPARKFN_COST_KAFKA_TOPIC']) delete process.env[name];
    // Spark wrote its rolling event log to the bucket (spark.eventLog.dir=s3a://…/spark-events).
    await store.put(`spark-events/${PI_LOG_KEY}`, piEventLog());
    await store.put(`spark-events/eventlog_v2_${PI_APP_ID}/appstatus_${PI_APP_ID}`, '');
    apiserver = await startTestApiserver();
  });

  afterAll(async () => {
    process.env = saved;
    await apiserver?.stop();
    await s3?.stop();
  });

  async function costRecords(): Promise<string[]> {
    const keys: string[] = [];
    for await (const o of listAll(store, 'costs/')) keys.push(o.key);
    return keys;
  }

  async function freshRecord(deliver: () => Promise<unknown>): Promise<CostRecord> {
    const before = await costRecords();
    if (before.length > 0) await store.deleteMany(before);
    await deliver();
    expect(await costRecords()).toEqual([RECORD_KEY]);
    return JSON.parse((await getBuffer(store, RECORD_KEY)).toString('utf8')) as CostRecord;
  }

  /** What the real log says, priced by hand with deploy/prices.example.yaml. */
  function expectCorrect(record: CostRecord, resolvedBy: CostRecord['resolvedBy']): void {
    expect(record).toMatchObject({ appId: PI_APP_ID, namespace: NS, resolvedBy, source: 'event-log', executors: 1, incomplete: false });
    // Executor 1: ExecutorAdded 1750896416549 → ApplicationEnd 1750896418590 = 2.041 s; spark.executor.cores=1;
    // 512m heap + max(0.4 × 512m, 384m) overhead = 896 MiB = 0.875 GiB.
    // Records round seconds to milliseconds.
    expect(record.executorSeconds).toBeCloseTo(2.041, 3);
    expect(record.vcpuSeconds).toBeCloseTo(2.041, 3);
    expect(record.gibSeconds).toBeCloseTo(2.041 * 0.875, 3);
    expect(record.start).toBe(new Date(1750896411168).toISOString());
    expect(record.end).toBe(new Date(1750896418590).toISOString());
    // 1 vCPU / 0.875 GiB rounds up to ECI's 1-2Gi: 1 × 0.00005 + 2 × 0.000005 = 0.00006 per second, on demand.
    // Records round money to 6 decimals.
    const money = (n: number) => Math.round(n * 1e6) / 1e6;
    const executorMoney = money(2.041 * 0.00006);
    expect(record.cost?.executors).toBe(executorMoney);
    expect(record.cost?.currency).toBe('CNY');
    expect(record.cost?.spot).toBe(0);
    // The driver, from the log too: ApplicationStart 1750896411168 → end = 7.422 s, spark.driver.cores=1, 512m + 384m.
    expect(record.driver).toEqual({ seconds: 7.422, vcpuSeconds: 7.422, gibSeconds: Math.round(7.422 * 0.875 * 1000) / 1000 });
    const driverMoney = money(7.422 * 0.00006);
    expect(record.cost?.driver).toBe(driverMoney);
    expect(record.cost?.total).toBe(money(executorMoney + driverMoney));
  }

  it('kube-eventer webhook → Lambda function URL and FC HTTP trigger: one record, resolved from the event log', async () => {
    const viaLambda = await freshRecord(async () => {
      for (const event of life()) expect((await costLambda(lambdaUrl(sink.webhook(event)), lambdaContext)) as Json).toMatchObject({ statusCode: 200 });
    });
    expectCorrect(viaLambda, 'event-log-properties');
    const viaFc = await freshRecord(async () => {
      for (const event of life().slice(0, -1)) await costFc(fcHttp(sink.webhook(event)), fcContext);
      // The end event exactly as events/ has it.
      expect((await costFc(fcHttp(loadEventBytes('job-cost/spark-pi-python/completed-kube-eventer-webhook')), fcContext)) as Json).toMatchObject({ statusCode: 200 });
    });
    expect({ ...viaFc, computedAt: '' }).toEqual({ ...viaLambda, computedAt: '' });
  });

  it('kube-eventer Kafka sink → Lambda self-managed Kafka and FC Kafka triggers: the same record', async () => {
    const viaLambda = await freshRecord(() => costLambda(lambdaKafka(EVENTS_TOPIC, life().map(sink.kafka)), lambdaContext));
    expectCorrect(viaLambda, 'event-log-properties');
    const viaFc = await freshRecord(() => costFc(fcKafka(EVENTS_TOPIC, [...life().slice(0, -1).map(sink.kafka), loadEventBytes('job-cost/spark-pi-python/completed-kube-eventer-kafka')]), fcContext));
    expect({ ...viaFc, computedAt: '' }).toEqual({ ...viaLambda, computedAt: '' });
  });

  it('kube-eventer EventBridge sink → FC: the same record, each event delivered twice', async () => {
    const events = [...life().slice(0, -1).map(sink.eventbridge), loadEvent('job-cost/spark-pi-python/completed-kube-eventer-eventbridge')];
    const record = await freshRecord(async () => {
      await costFc(Buffer.from(JSON.stringify(events)), fcContext);
      await costFc(Buffer.from(JSON.stringify([...events].reverse())), fcContext);
    });
    expectCorrect(record, 'event-log-properties');
  });

  it('with the cluster reachable, the SparkApplication\'s status names the app; the record is otherwise the same', async () => {
    apiserver.put({
      apiVersion: `${SPARK_APPLICATION_API.group}/${SPARK_APPLICATION_API.version}`,
      kind: 'SparkApplication',
      metadata: { name: APP, namespace: NS },
      spec: { type: 'Python', mode: 'cluster', mainApplicationFile: 'local:///opt/spark/examples/src/main/python/pi.py' },
      status: { sparkApplicationId: PI_APP_ID, applicationState: { state: 'COMPLETED' }, driverInfo: { podName: DRIVER } },
    });
    const cluster = await createKubeClients(apiserver.kubeConfig());
    const withCluster = fcHandler(costFn, async (options) => ({ ...(await depsFromEnvironment(options)), cluster }));
    apiserver.resetCalls();
    const record = await freshRecord(() => withCluster(Buffer.from(JSON.stringify([loadEvent('job-cost/spark-pi-python/completed-kube-eventer-eventbridge')])), fcContext));
    expectCorrect(record, 'spark-application-status');
    expect(apiserver.countCalls({ verb: 'get', resource: 'sparkapplications', namespace: NS, name: APP })).toBe(1);
  });

  it('an end whose SparkApplication no source knows writes no record and says so', async () => {
    const event = life().at(-1)!;
    event.involvedObject.name = 'never-logged';
    event.metadata.uid = 'u-never-logged';
    const before = await costRecords();
    await costLambda(lambdaKafka(EVENTS_TOPIC, [sink.kafka(event)]), lambdaContext);
    expect(await costRecords()).toEqual(before);
  });

  describe('log-archiver on the same end events', () => {
    let line = 0;
    const logBatch = () =>
      [
        filebeatDoc('driver', `25/06/26 00:06:52 INFO SparkContext: Running Spark version 3.5.3 (${++line})`, '2025-06-26T00:06:52.100Z'),
        filebeatDoc('executor', `25/06/26 00:06:57 INFO Executor: Running task 0.0 in stage 0.0 (TID 0) (${++line})`, '2025-06-26T00:06:57.200Z'),
        filebeatDoc('driver', `Pi is roughly 3.141680 (${++line})`, '2025-06-26T00:06:58.300Z'),
      ];

    async function appKeys(): Promise<string[]> {
      const keys: string[] = [];
      for await (const o of listAll(store, `logs/${PI_APP_ID}/`)) keys.push(o.key);
      return keys.sort();
    }

    async function compactedLines(): Promise<string[]> {
      const lines: string[] = [];
      for (const key of (await appKeys()).filter((k) => k.endsWith('.log.gz'))) lines.push(...gunzipSync(await getBuffer(store, key)).toString('utf8').split('\n').filter(Boolean));
      return lines.sort();
    }

    const logs = [`logs/${PI_APP_ID}/1/stderr.log.gz`, `logs/${PI_APP_ID}/driver/stderr.log.gz`];
    // Each compacted log and the member index compaction writes beside it.
    const compacted = [...logs, ...logs.map((k) => `${k}.idx.json`)].sort();

    it.each([
      ['kube-eventer webhook → Lambda function URL', () => archiverLambda(lambdaUrl(loadEventBytes('job-cost/spark-pi-python/completed-kube-eventer-webhook')), lambdaContext)],
      ['kube-eventer Kafka sink → Lambda Kafka trigger', () => archiverLambda(lambdaKafka(EVENTS_TOPIC, [loadEventBytes('job-cost/spark-pi-python/completed-kube-eventer-kafka')]), lambdaContext)],
      ['kube-eventer Kafka sink → FC Kafka trigger, in a batch with log records', () => archiverFc(fcKafka(EVENTS_TOPIC, [...logBatch(), loadEventBytes('job-cost/spark-pi-python/completed-kube-eventer-kafka')]), fcContext)],
      ['kube-eventer EventBridge sink → FC', () => archiverFc(Buffer.from(JSON.stringify([loadEvent('job-cost/spark-pi-python/completed-kube-eventer-eventbridge')])), fcContext)],
    ])('%s compacts the app\'s chunks', async (_path, end) => {
      await archiverLambda(lambdaKafka(LOG_TOPIC, logBatch()), lambdaContext);
      const chunks = (await appKeys()).filter((k) => !compacted.includes(k));
      expect(chunks.length).toBeGreaterThanOrEqual(2);
      await end();
      expect(await appKeys()).toEqual(compacted);
      const expected = Array.from({ length: line }, (_, i) => i + 1);
      expect((await compactedLines()).map((l) => Number(/\((\d+)\)$/.exec(l)?.[1])).sort((a, b) => a - b)).toEqual(expected);
    });

    it('an end of another SparkApplication leaves the chunks alone', async () => {
      await archiverLambda(lambdaKafka(LOG_TOPIC, logBatch()), lambdaContext);
      const before = await appKeys();
      const other = loadEvent('job-cost/spark-pi-python/completed-kube-eventer-eventbridge') as Json;
      other.data.involvedObject.name = 'taxi-trip';
      other.id = 'ce-taxi-trip';
      await archiverFc(Buffer.from(JSON.stringify([other])), fcContext);
      expect(await appKeys()).toEqual(before);
      expect(before.length).toBeGreaterThan(compacted.length);
    });
  });
});
