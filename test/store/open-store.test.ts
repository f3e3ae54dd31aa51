import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { openStore } from '../../shared/store/open-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import { startS3rver, type S3rverHarness } from '../support/s3rver.js';

describe('openStore', () => {
  let s3: S3rverHarness;
  let dir: string;
  beforeAll(async () => {
    [s3, dir] = await Promise.all([startS3rver(), mkdtemp(join(tmpdir(), 'sparkfn-open-store-'))]);
  });
  afterAll(async () => {
    await Promise.all([s3?.stop(), dir && rm(dir, { recursive: true, force: true })]);
  });

  it('opens the default store, a directory relative to the working directory', () => {
    const store = openStore(loadConfig({}));
    expect(store).toBeInstanceOf(FileObjectStore);
    expect((store as FileObjectStore).dir).toBe(resolve('.sparkfn-data'));
  });

  it('fsyncs a file store\'s writes only when SPARKFN_STORE_FSYNC says so', async () => {
    expect((openStore(loadConfig({ SPARKFN_STORE: `file://${dir}` })) as FileObjectStore).fsync).toBe(false);
    const durable = openStore(loadConfig({ SPARKFN_STORE: `file://${dir}`, SPARKFN_STORE_FSYNC: 'true' })) as FileObjectStore;
    expect(durable.fsync).toBe(true);
    await durable.put('fsynced/k', 'v', { metadata: { a: '1' } });
    expect((await getBuffer(durable, 'fsynced/k')).toString()).toBe('v');
  });

  it('opens file:///absolute/dir as that directory', async () => {
    const store = openStore(loadConfig({ SPARKFN_STORE: `file://${dir}` }));
    expect(store.url).toBe(`file://${dir}`);
    await store.put('k', 'v');
    expect((await getBuffer(new FileObjectStore(dir), 'k')).toString()).toBe('v');
  });

  it('opens s3://bucket/prefix with the SPARKFN_S3_* settings', async () => {
    const bucket = await s3.createBucket();
    const store = openStore(
      loadConfig({
        ...s3.storeEnv(bucket, 'team/prod'),
      }),
    );
    const root = new S3ObjectStore({ bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    try {
      expect(store).toBeInstanceOf(S3ObjectStore);
      expect(store.url).toBe(`s3://${bucket}/team/prod`);
      await store.put('k', 'v');
      expect((await root.list('')).objects.map((o) => o.key)).toEqual(['team/prod/k']);
    } finally {
      (store as S3ObjectStore).destroy();
      root.destroy();
    }
  });

  it('names the missing half of an access key pair', () => {
    const config = loadConfig({ SPARKFN_STORE: 's3://logs', SPARKFN_S3_ACCESS_KEY_ID: 'id' });
    const err = (() => {
      try {
        return openStore(config);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.variable)).toEqual(['SPARKFN_S3_SECRET_ACCESS_KEY']);
  });

  it.each(['s3://logs/../x', 's3://logs/a//b'])('rejects the unusable store %j naming SPARKFN_STORE', (url) => {
    expect(() => openStore({ ...loadConfig({}), SPARKFN_STORE: url })).toThrow(/SPARKFN_STORE/);
  });
});
