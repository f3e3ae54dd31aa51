import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc64 } from '../../app/deploy/crc64.js';
import { cronToFc, fcTriggers, rateToFc } from '../../app/deploy/fc-triggers.js';
import { zipFolder } from '../../app/deploy/zip-folder.js';

describe('rate to FC @every', () => {
  it.each([
    ['rate(1 minute)', '@every 1m'],
    ['rate(5 minutes)', '@every 5m'],
    ['rate(10 minutes)', '@every 10m'],
    ['rate(1 hour)', '@every 1h'],
    ['rate(6 hours)', '@every 6h'],
    ['rate(1 day)', '@every 24h'],
    ['rate(7 days)', '@every 168h'],
  ])('%s → %s', (rate, expected) => {
    expect(rateToFc(rate)).toBe(expected);
  });

  it.each(['rate(5 minute)', 'rate(1 minutes)', 'rate(0 minutes)', 'rate(5 seconds)', 'rate(five minutes)', 'every 5 minutes'])('refuses %s', (rate) => {
    expect(() => rateToFc(rate)).toThrow(/rate/);
  });
});

describe('AWS cron to FC cron', () => {
  it.each([
    ['cron(0 12 * * ? *)', '0 0 12 * * ?'],
    ['cron(15 10 ? * FRI *)', '0 15 10 ? * FRI'],
    ['cron(0 18 ? * MON-FRI *)', '0 0 18 ? * MON-FRI'],
    ['cron(0 8 1 * ? *)', '0 0 8 1 * ?'],
    ['cron(0/10 * ? * MON-FRI *)', '0 0/10 * ? * MON-FRI'],
    ['cron(0 2 ? * 1 *)', '0 0 2 ? * SUN'],
    ['cron(0 2 ? * 2-6 *)', '0 0 2 ? * MON-FRI'],
    ['cron(30 3 ? * 1,7 *)', '0 30 3 ? * SUN,SAT'],
    ['cron(0 9 ? JAN-MAR mon *)', '0 0 9 ? JAN-MAR MON'],
  ])('%s → %s', (cron, expected) => {
    expect(cronToFc(cron)).toBe(expected);
  });

  it.each([
    ['cron(0 12 * * ? 2030)', /year/],
    ['cron(0 12 * * ?)', /6 fields/],
    ['cron(0 12 L * ? *)', /L, W or #/],
    ['cron(0 12 ? * 6L *)', /L, W or #/],
    ['cron(0 12 ? * 3#2 *)', /L, W or #/],
    ['cron(0 12 15W * ? *)', /L, W or #/],
    ['cron(0 12 ? * 8 *)', /outside/],
    ['cron(0 12 ? * MON/2 *)', /day-of-week/],
    ['0 12 * * ? *', /cron\(/],
  ])('refuses %s', (cron, message) => {
    expect(() => cronToFc(cron)).toThrow(message);
  });
});

describe('fcTriggers', () => {
  const context = { functionName: 'f', region: 'cn-hangzhou', kafkaInstanceId: 'alikafka_pre-cn-test' };

  it('folds every httpApi route of a function into one HTTP trigger, function auth when a route has an authorizer', () => {
    const [http, ...rest] = fcTriggers(
      [{ httpApi: { method: 'GET', path: '/a' } }, { httpApi: { method: 'post', path: '/b', authorizer: { name: 'jwt' } } }],
      context,
    );
    expect(rest).toEqual([]);
    expect(http).toMatchObject({ triggerName: 'http', triggerType: 'http', triggerConfig: { authType: 'function', methods: ['GET', 'POST'] } });
  });

  it('names repeated kinds timer, timer-2, … in file order and keeps a disabled schedule disabled', () => {
    const triggers = fcTriggers([{ schedule: 'rate(1 hour)' }, { schedule: { rate: ['cron(0 1 * * ? *)'], enabled: false, input: { a: 1 } } }], context);
    expect(triggers.map((t) => [t.triggerName, t.triggerConfig])).toEqual([
      ['timer', { cronExpression: '@every 1h', enable: true }],
      ['timer-2', { cronExpression: '0 0 1 * * ?', enable: false, payload: '{"a":1}' }],
    ]);
  });

  it('blocks a kafka trigger until the Kafka instance id is configured', () => {
    const [kafka] = fcTriggers([{ kafka: { topic: 't', consumerGroupId: 'g', startingPosition: 'LATEST' } }], { functionName: 'f', region: 'cn-hangzhou' });
    expect(kafka!.blocked).toMatch(/SPARKFN_FC_KAFKA_INSTANCE_ID/);
  });

  it.each([
    [{ batchSize: 20_000 }, /batchSize 20000/],
    [{ maximumBatchingWindow: 60 }, /maximumBatchingWindow 60/],
    [{ startingPosition: 'AT_TIMESTAMP' }, /AT_TIMESTAMP/],
  ])('refuses kafka settings FC cannot take: %j', (extra, message) => {
    expect(() => fcTriggers([{ kafka: { topic: 't', ...extra } }], context)).toThrow(message);
  });

  it('refuses an event kind it has no mapping for', () => {
    expect(() => fcTriggers([{ sqs: { arn: 'x' } }], context)).toThrow(/sqs has no FC mapping/);
  });
});

describe('code checksum and zip', () => {
  it('computes CRC-64/XZ (check value of "123456789" is 0x995dc9bbdf1939fa)', () => {
    expect(crc64('123456789')).toBe(0x995dc9bbdf1939fan.toString());
  });

  it('zips a folder to the same bytes every time, whatever the files’ timestamps', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparkfn-zip-'));
    try {
      await mkdir(join(dir, 'lib'));
      await writeFile(join(dir, 'index.js'), 'exports.handler = async () => "ok";\n');
      await writeFile(join(dir, 'lib', 'a.js'), 'module.exports = 1;\n');
      const first = await zipFolder(dir);
      await writeFile(join(dir, 'index.js'), 'exports.handler = async () => "ok";\n');
      expect((await zipFolder(dir)).equals(first)).toBe(true);
      await writeFile(join(dir, 'index.js'), 'exports.handler = async () => "changed";\n');
      expect((await zipFolder(dir)).equals(first)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
