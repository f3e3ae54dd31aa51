import { describe, expect, it } from 'vitest';
import { extractByParse, type FilebeatEvent } from '../../functions/log-archiver/filebeat-event.js';
import { resolveIdentity, streamOf } from '../../functions/log-archiver/identity.js';
import { matchKeyTemplate, parseKeyTemplate } from '../../functions/log-archiver/key-template.js';
import { ConfigError } from '../../shared/errors.js';
import { APP_ID, filebeatValue, type FilebeatSample } from './support.js';

const DEFAULT = parseKeyTemplate('<appType>/<appId>/<executorId>');

function eventOf(name: FilebeatSample): FilebeatEvent {
  const result = extractByParse(filebeatValue(name));
  if (result.kind !== 'event') throw new Error('not an event');
  return result.event;
}

describe('log-archiver key template', () => {
  it.each([
    ['<appType>/<appId>/<executorId>', 'spark/spark-1a2b/7', { appType: 'spark', appId: 'spark-1a2b', executorId: '7' }],
    ['<appType>/<appId>/<executorId>', 'spark/spark-1a2b/driver', { appType: 'spark', appId: 'spark-1a2b', executorId: 'driver' }],
    ['<appId>/<executorId>/<stream>', 'spark-1a2b/3/stderr', { appId: 'spark-1a2b', executorId: '3', stream: 'stderr' }],
    ['logs:<_>:<appId>:<executorId>', 'logs:prod:spark-9:12', { appId: 'spark-9', executorId: '12' }],
    ['<appType>/<appId>/<executorId>', 'spark//7', { appType: 'spark', executorId: '7' }],
    ['<appType>/<appId>/<executorId>', 'spark/a/b/c', { appType: 'spark', appId: 'a', executorId: 'b/c' }],
  ])('%s reads %j', (template, key, expected) => {
    expect(matchKeyTemplate(parseKeyTemplate(template), Buffer.from(key))).toEqual(expected);
  });

  it.each([
    ['no key', null],
    ['an empty key', Buffer.alloc(0)],
    ['a key of another shape', Buffer.from('spark-1a2b')],
    ['a key that is not UTF-8', Buffer.from([0x73, 0x2f, 0xff, 0x2f, 0x31])],
  ])('reads nothing from %s', (_, key) => {
    expect(matchKeyTemplate(DEFAULT, key)).toBeUndefined();
  });

  it.each([
    ['<appId>', /must contain <appId> and <executorId>/],
    ['<appId>/<executor>', /unknown placeholder <executor>/],
    ['<appId>/<appId>/<executorId>', /uses <appId> twice/],
  ])('refuses the template %j, naming the variable', (template, message) => {
    expect(() => parseKeyTemplate(template)).toThrow(ConfigError);
    expect(() => parseKeyTemplate(template)).toThrow(message);
    expect(() => parseKeyTemplate(template)).toThrow(/SPARKFN_ARCHIVER_KEY_TEMPLATE/);
  });
});

describe('log-archiver identity', () => {
  it.each([
    ['container-driver', { appId: APP_ID, executorId: 'driver', source: 'labels' }],
    ['container-executor', { appId: APP_ID, executorId: '1', source: 'labels' }],
    ['filestream', { appId: APP_ID, executorId: '2', appType: 'spark', source: 'fields' }],
    ['fields-under-root', { appId: APP_ID, executorId: '2', appType: 'spark', source: 'fields' }],
  ] as const)('finds who wrote events/filebeat/%s', (name, expected) => {
    expect(resolveIdentity(undefined, eventOf(name), ['key', 'fields', 'labels'])).toEqual(expected);
  });

  it('takes the first source that names both ids, in the configured order', () => {
    const event = eventOf('container-executor');
    event.fields = { appId: 'from-fields', executorId: '9', appType: 'batch' };
    const key = { appType: 'spark', appId: 'from-key', executorId: '4' };
    expect(resolveIdentity(key, event, ['key', 'fields', 'labels'])).toMatchObject({ appId: 'from-key', executorId: '4', appType: 'spark', source: 'key' });
    expect(resolveIdentity(key, event, ['fields', 'key'])).toMatchObject({ appId: 'from-fields', executorId: '9', source: 'fields' });
    expect(resolveIdentity(key, event, ['labels', 'key'])).toMatchObject({ appId: APP_ID, executorId: '1', appType: 'batch', source: 'labels' });
    expect(resolveIdentity({ appId: 'only-app' }, event, ['key', 'labels'])).toMatchObject({ source: 'labels' });
  });

  it('finds nothing when no source names both ids', () => {
    const event = eventOf('filestream');
    event.fields = { appId: APP_ID };
    expect(resolveIdentity(undefined, event, ['key', 'fields', 'labels'])).toBeUndefined();
    expect(resolveIdentity(undefined, eventOf('container-executor'), ['key', 'fields'])).toBeUndefined();
  });

  it.each([
    [undefined, { stream: 'stderr' }, 'stderr'],
    [undefined, { stream: 'stdout' }, 'stdout'],
    ['stderr', { stream: 'stdout' }, 'stderr'],
    [undefined, { logFilePath: '/var/log/spark/app/2/stderr' }, 'stderr'],
    [undefined, { logFilePath: '/opt/spark/work/app-1/0/stderr.log' }, 'stderr'],
    [undefined, { logFilePath: '/var/log/spark/app/2/stdout' }, 'stdout'],
    [undefined, { logFilePath: '/var/log/stderr-archive/app.log' }, 'stdout'],
    [undefined, { stream: 'all' }, 'stdout'],
    [undefined, {}, 'stdout'],
  ] as const)('stream: key %s and %j give %s', (keyStream, event, expected) => {
    expect(streamOf(keyStream, event)).toBe(expected);
  });
});
