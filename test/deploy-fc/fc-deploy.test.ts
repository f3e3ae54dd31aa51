import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../app/cli/main.js';
import { crc64 } from '../../app/deploy/crc64.js';
import { zipFolder } from '../../app/deploy/zip-folder.js';
import { startFcApi, type FcApiStandIn } from '../support/fc-api.js';

const root = join(import.meta.dirname, '..', '..');
const FUNCTIONS = ['log-archiver', 'log-viewer', 'job-cost', 'spot-fallback', 'janitor', 'quota-retry', 'spark-monitor'];
/** serverless.yml's triggers: log-archiver timer+kafka, log-viewer http, job-cost http+eventbridge, spot-fallback http+eventbridge, janitor timer, quota-retry timer+http+eventbridge, spark-monitor timer. */
const TRIGGER_COUNT = 12;
const SERVICE = 'spark-k8s-functions';
const KAFKA_INSTANCE = 'alikafka_pre-cn-test0001';

let fc: FcApiStandIn;
let work: string;
let manifest: string;
let bundles: string;

beforeEach(async () => {
  fc = await startFcApi();
  work = await mkdtemp(join(tmpdir(), 'sparkfn-deploy-fc-'));
  manifest = join(work, 'serverless.yml');
  bundles = join(work, 'dist', 'fc');
  await writeFile(manifest, await readFile(join(root, 'serverless.yml'), 'utf8'));
  for (const name of FUNCTIONS) {
    await mkdir(join(bundles, name), { recursive: true });
    await writeFile(join(bundles, name, 'index.js'), `exports.handler = async () => ${JSON.stringify(name)};\n`);
    await writeFile(join(bundles, name, 'index.js.map'), '{"version":3,"mappings":""}');
  }
});

afterEach(async () => {
  await fc.close();
  await rm(work, { recursive: true, force: true });
});

function fcEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    ALIBABA_CLOUD_ACCESS_KEY_ID: fc.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: fc.accessKeySecret,
    SPARKFN_FC_ACCOUNT_ID: fc.accountId,
    SPARKFN_FC_REGION: fc.region,
    SPARKFN_FC_ENDPOINT: fc.url,
    SPARKFN_FC_KAFKA_INSTANCE_ID: KAFKA_INSTANCE,
    ...overrides,
  };
}

async function deploy(args: string[] = [], env: NodeJS.ProcessEnv = fcEnv()) {
  let out = '';
  let err = '';
  const code = await main(['node', 'sparkfn', 'deploy', 'fc', '--file', manifest, '--bundles', bundles, ...args], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env,
    stdin: Readable.from([]),
  });
  // Whatever happened, the secret never reaches the terminal.
  expect(out + err).not.toContain(fc.accessKeySecret);
  return { code, out, err };
}

const writes = (method: string, path: RegExp) => fc.writes().filter((r) => r.method === method && path.test(r.path));
const body = (method: string, path: string) => fc.requests.find((r) => r.method === method && r.path === path)?.body as Record<string, any>;

describe('sparkfn deploy fc', () => {
  it('first deploy creates the service, every function with its zipped bundle, and every trigger, each request signed', async () => {
    const { code, out, err } = await deploy();

    expect(err).toBe('');
    expect(code).toBe(0);
    expect(writes('POST', /^\/services$/)).toHaveLength(1);
    expect(writes('POST', /^\/services\/[^/]+\/functions$/).map((r) => (r.body as { functionName: string }).functionName).sort()).toEqual([...FUNCTIONS].sort());
    expect(writes('POST', /\/triggers$/)).toHaveLength(TRIGGER_COUNT);
    expect(fc.writes()).toHaveLength(1 + FUNCTIONS.length + TRIGGER_COUNT);
    expect(fc.requests.every((r) => r.authorization?.startsWith(`FC ${fc.accessKeyId}:`))).toBe(true);
    expect(fc.requests.filter((r) => r.status >= 400).every((r) => r.status === 404 && r.method === 'GET')).toBe(true);
    expect(out).toContain(`deploy fc: created ${1 + FUNCTIONS.length + TRIGGER_COUNT}, updated 0, unchanged 0, blocked 0, failed 0.`);

    const archiver = fc.services.get(SERVICE)!.functions.get('log-archiver')!.fn;
    expect(archiver).toMatchObject({ runtime: 'nodejs20', handler: 'index.handler', memorySize: 1024, timeout: 300 });
    expect(archiver.environmentVariables).toEqual({ SPARKFN_STORE: 's3://my-spark-ops-bucket/sparkfn', SPARKFN_LOG_LEVEL: 'info' });
    expect(archiver.codeEntries).toEqual(['index.js', 'index.js.map']);
    expect(archiver.codeChecksum).toBe(crc64(await zipFolder(join(bundles, 'log-archiver'))));

    expect(body('POST', `/services/${SERVICE}/functions/log-archiver/triggers`)).toMatchObject({ triggerName: 'timer', triggerType: 'timer' });
    const archiverTriggers = fc.services.get(SERVICE)!.functions.get('log-archiver')!.triggers;
    expect(archiverTriggers.get('timer')).toMatchObject({ triggerType: 'timer', triggerConfig: { cronExpression: '@every 5m', enable: true } });
    expect(archiverTriggers.get('kafka')).toMatchObject({
      triggerType: 'eventbridge',
      triggerConfig: {
        triggerEnable: true,
        asyncInvocationType: false,
        eventSourceConfig: {
          eventSourceType: 'Kafka',
          eventSourceParameters: {
            sourceKafkaParameters: { RegionId: 'cn-hangzhou', InstanceId: KAFKA_INSTANCE, Topic: 'spark-logs', ConsumerGroup: 'sparkfn-log-archiver', OffsetReset: 'earliest' },
          },
        },
        eventSinkConfig: { deliveryOption: { mode: 'event-streaming', eventSchema: 'CloudEvents' } },
        runOptions: { mode: 'event-streaming', batchWindow: { CountBasedWindow: 5000, TimeBasedWindow: 10 } },
      },
    });
    expect(fc.services.get(SERVICE)!.functions.get('log-viewer')!.triggers.get('http')).toMatchObject({ triggerType: 'http', triggerConfig: { authType: 'anonymous', methods: ['GET'] } });
    expect(fc.services.get(SERVICE)!.functions.get('quota-retry')!.triggers.get('timer')!.triggerConfig).toEqual({ cronExpression: '@every 1m', enable: true });
    expect(fc.services.get(SERVICE)!.functions.get('spot-fallback')!.triggers.get('eventbridge')!.triggerConfig).toMatchObject({
      eventSourceConfig: { eventSourceType: 'Default' },
      eventRuleFilterPattern: JSON.stringify({ source: ['acs.cs'], type: ['cs:k8s:PodRelatedEvent'], data: { reason: ['NoStock', 'StockExhaust', 'StockClose', 'SpotDegraded', 'ProviderCreateFailed', 'SpotToBeReleased'] } }),
    });
  });

  it('a second deploy of an unchanged file sends no writes', async () => {
    expect((await deploy()).code).toBe(0);
    const before = fc.writes().length;

    const { code, out } = await deploy();

    expect(code).toBe(0);
    expect(fc.writes().length).toBe(before);
    expect(out).toContain(`deploy fc: created 0, updated 0, unchanged ${1 + FUNCTIONS.length + TRIGGER_COUNT}, blocked 0, failed 0.`);
  });

  it('a changed memory size sends exactly one updateFunction, with only that field', async () => {
    expect((await deploy()).code).toBe(0);
    const before = fc.writes().length;
    const yaml = await readFile(manifest, 'utf8');
    await writeFile(manifest, yaml.replace('handler: functions/log-viewer/lambda.handler\n', 'handler: functions/log-viewer/lambda.handler\n    memorySize: 1024\n'));

    const { code, out } = await deploy();

    expect(code).toBe(0);
    const sent = fc.writes().slice(before);
    expect(sent.map((r) => [r.method, r.path, r.body])).toEqual([['PUT', `/services/${SERVICE}/functions/log-viewer`, { memorySize: 1024 }]]);
    expect(fc.services.get(SERVICE)!.functions.get('log-viewer')!.fn.memorySize).toBe(1024);
    expect(out).toMatch(/function\s+spark-k8s-functions\/log-viewer\s+update\s+memorySize 512 → 1024/);
  });

  it('a rebuilt bundle sends its new code, and only for that function', async () => {
    expect((await deploy()).code).toBe(0);
    const before = fc.writes().length;
    await writeFile(join(bundles, 'janitor', 'index.js'), 'exports.handler = async () => "janitor v2";\n');

    expect((await deploy()).code).toBe(0);

    const sent = fc.writes().slice(before);
    expect(sent.map((r) => [r.method, r.path])).toEqual([['PUT', `/services/${SERVICE}/functions/janitor`]]);
    expect(Object.keys(sent[0]!.body as object)).toEqual(['code']);
    expect(fc.services.get(SERVICE)!.functions.get('janitor')!.fn.codeChecksum).toBe(crc64(await zipFolder(join(bundles, 'janitor'))));
  });

  it('--dry-run reads FC, sends no writes and prints the plan as a table', async () => {
    const { code, out } = await deploy(['--dry-run']);

    expect(code).toBe(0);
    expect(fc.requests.length).toBeGreaterThan(0);
    expect(fc.writes()).toEqual([]);
    expect(out).toMatch(/^resource\s+name\s+action\s+details\n-+/m);
    expect(out).toMatch(/service\s+spark-k8s-functions\s+create/);
    expect(out).toMatch(/trigger\s+spark-k8s-functions\/log-archiver\/timer\s+create\s+timer: rate\(5 minutes\) → @every 5m/);
    expect(out).toContain(`dry-run: would create ${1 + FUNCTIONS.length + TRIGGER_COUNT}, update 0;`);
    expect(out).not.toContain('s3://my-spark-ops-bucket');
  });

  it('--dry-run after a deploy shows the one difference', async () => {
    expect((await deploy()).code).toBe(0);
    const before = fc.writes().length;
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('rate: rate(10 minutes)', 'rate: cron(0 3 ? * MON-FRI *)'));

    const { code, out } = await deploy(['--dry-run']);

    expect(code).toBe(0);
    expect(fc.writes().length).toBe(before);
    expect(out).toMatch(/trigger\s+spark-k8s-functions\/janitor\/timer\s+update\s+timer: cron\(0 3 \? \* MON-FRI \*\) → 0 0 3 \? \* MON-FRI/);
    expect(out).toContain('dry-run: would create 0, update 1;');
  });

  it('--dry-run needs neither credentials nor bundles', async () => {
    await rm(bundles, { recursive: true });

    const { code, out } = await deploy(['--dry-run'], {});

    expect(code).toBe(0);
    expect(fc.requests).toEqual([]);
    expect(out).toContain('FC not read');
    expect(out).toMatch(/function\s+spark-k8s-functions\/janitor\s+create\s+nodejs20 index\.handler, 512 MB, 300 s.*not built yet/);
  });

  it('a deploy without credentials names the variables to set and sends nothing', async () => {
    const { code, err } = await deploy([], fcEnv({ SPARKFN_FC_ACCOUNT_ID: undefined, ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined }));

    expect(code).toBe(2);
    expect(err).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET, SPARKFN_FC_ACCOUNT_ID');
    expect(fc.requests).toEqual([]);
  });

  it('a wrong secret is refused by FC signature check and the deploy fails without printing it', async () => {
    const { code, err } = await deploy([], fcEnv({ ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'not-the-secret-0123456789' }));

    expect(code).toBe(1);
    expect(err).toMatch(/403/);
    expect(err).not.toContain('not-the-secret-0123456789');
    expect(fc.writes()).toEqual([]);
  });

  it('a failed create is reported, the rest is deployed, and the exit code says so', async () => {
    fc.failNext('POST', /\/functions\/janitor\/triggers$/, 500, 'InternalServerError');

    const { code, out, err } = await deploy();

    expect(code).toBe(1);
    expect(out).toMatch(/create trigger spark-k8s-functions\/janitor\/timer failed: .*500/);
    expect(err).toContain('1 step(s) failed');
    expect(fc.services.get(SERVICE)!.functions.get('quota-retry')!.triggers.size).toBe(3);

    const again = await deploy();
    expect(again.code).toBe(0);
    expect(again.out).toContain('created 1, updated 0');
  });

  it('without a Kafka instance id the kafka trigger is blocked and everything else is deployed', async () => {
    const { code, out } = await deploy([], fcEnv({ SPARKFN_FC_KAFKA_INSTANCE_ID: undefined }));

    expect(code).toBe(1);
    expect(out).toMatch(/trigger\s+spark-k8s-functions\/log-archiver\/kafka\s+blocked\s+.*SPARKFN_FC_KAFKA_INSTANCE_ID/);
    expect(writes('POST', /\/triggers$/)).toHaveLength(TRIGGER_COUNT - 1);
  });
});

describe('FC API stand-in', () => {
  it('answers fc2 as FC does: 409 with ErrorCode for an existing service, 404 for a missing one', async () => {
    const Client = createRequire(import.meta.url)('@alicloud/fc2') as new (id: string, c: object) => {
      createService(name: string): Promise<unknown>;
      getService(name: string): Promise<unknown>;
    };
    const client = new Client(fc.accountId, { accessKeyID: fc.accessKeyId, accessKeySecret: fc.accessKeySecret, region: fc.region, endpoint: fc.url });
    await client.createService('svc');

    await expect(client.createService('svc')).rejects.toMatchObject({ code: 'ServiceAlreadyExists', message: expect.stringContaining('failed with 409') });
    await expect(client.getService('missing')).rejects.toMatchObject({ code: 'ServiceNotFound', message: expect.stringContaining('failed with 404') });
  });
});
