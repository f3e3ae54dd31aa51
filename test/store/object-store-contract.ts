import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, PreconditionFailedError, RangeNotSatisfiableError } from '../../shared/errors.js';
import { probeCreateOnly, type CreateOnlySupport } from '../../shared/store/create-only.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';

/** A store to test, fresh for each test, with a look behind it. */
export interface StoreFixture {
  store: ObjectStore;
  /** Unfinished writes the backend still holds (temp files, multipart uploads). Must stay empty. */
  leftovers(): Promise<string[]>;
  /** Frees what the fixture opened. */
  close?(): Promise<void>;
  /** Whether the backend refuses a second `ifNoneMatch: '*'` put (s3rver does not: it overwrites). */
  createOnly: CreateOnlySupport;
}

const MiB = 1024 * 1024;

/** Keys no store may accept, with why. */
export const UNSAFE_KEYS: [string, string][] = [
  ['../escape', 'a .. segment'],
  ['logs/../../escape', 'a .. segment inside'],
  ['./logs', 'a . segment'],
  ['/etc/passwd', 'an absolute path'],
  ['logs\\..\\escape', 'backslashes'],
  ['logs/a\u0000b', 'a NUL'],
  ['logs/a\nb', 'a newline'],
  ['logs//a', 'an empty segment'],
  ['logs/', 'a trailing slash'],
  ['', 'nothing'],
  ['x'.repeat(1025), 'more than 1024 bytes'],
];

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The ObjectStore contract: what every implementation must do, whatever is behind it.
 * @example describeObjectStoreContract('FileObjectStore', async () => ({ store: new FileObjectStore(dir), leftovers }))
 */
export function describeObjectStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: ObjectStore;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterEach(async () => {
      const leftovers = await fixture.leftovers();
      await fixture.close?.();
      expect(leftovers).toEqual([]);
    });

    describe('put and get', () => {
      it('round-trips a Buffer, a string, a Uint8Array and a stream', async () => {
        await store.put('b/buffer', Buffer.from([0, 1, 2, 255]));
        await store.put('b/string', 'grüße, 日本 😀');
        await store.put('b/uint8', new Uint8Array([9, 8, 7]));
        await store.put('b/stream', Readable.from([Buffer.from('one '), Buffer.from('two '), 'three']));

        expect(await getBuffer(store, 'b/buffer')).toEqual(Buffer.from([0, 1, 2, 255]));
        expect((await getBuffer(store, 'b/string')).toString('utf8')).toBe('grüße, 日本 😀');
        expect(await getBuffer(store, 'b/uint8')).toEqual(Buffer.from([9, 8, 7]));
        expect((await getBuffer(store, 'b/stream')).toString()).toBe('one two three');
      });

      it('stores an empty body', async () => {
        await store.put('empty', '');
        expect((await getBuffer(store, 'empty')).length).toBe(0);
        expect((await store.head('empty'))?.size).toBe(0);
      });

      it('overwrites an object with a new body', async () => {
        await store.put('k', 'first version, longer');
        await store.put('k', 'second');
        expect((await getBuffer(store, 'k')).toString()).toBe('second');
        expect((await store.head('k'))?.size).toBe(6);
      });

      it('round-trips a 12 MiB body given as a Buffer and as a stream (multipart on S3)', async () => {
        const body = randomBytes(12 * MiB + 123);
        await store.put('big/buffer', body);
        const chunks = Array.from({ length: Math.ceil(body.length / MiB) }, (_, i) => body.subarray(i * MiB, (i + 1) * MiB));
        await store.put('big/stream', Readable.from(chunks));

        expect(sha256(await getBuffer(store, 'big/buffer'))).toBe(sha256(body));
        expect(sha256(await getBuffer(store, 'big/stream'))).toBe(sha256(body));
        expect((await store.head('big/stream'))?.size).toBe(body.length);
      });

      it('rejects with the stream error when a streamed body fails, and leaves the old object', async () => {
        await store.put('failing', 'old');
        const failing = new Readable({
          read() {
            this.destroy(new Error('disk on fire'));
          },
        });
        await expect(store.put('failing', failing)).rejects.toThrow(/disk on fire/);
        expect((await getBuffer(store, 'failing')).toString()).toBe('old');
      });
    });

    describe('head', () => {
      it('returns content type, content encoding and metadata as they were put', async () => {
        const gz = gzipSync('hello');
        await store.put('meta/obj.log.gz', gz, {
          contentType: 'text/plain; charset=utf-8',
          contentEncoding: 'gzip',
          metadata: { 'app-id': 'spark-1a2b', 'first-offset': '00000000000000000042' },
        });
        const info = await store.head('meta/obj.log.gz');
        expect(info).toMatchObject({
          key: 'meta/obj.log.gz',
          size: gz.length,
          contentType: 'text/plain; charset=utf-8',
          contentEncoding: 'gzip',
          metadata: { 'app-id': 'spark-1a2b', 'first-offset': '00000000000000000042' },
        });
        expect(info?.lastModified).toBeInstanceOf(Date);
        expect(Math.abs(Date.now() - (info?.lastModified.getTime() ?? 0))).toBeLessThan(5 * 60_000);
      });

      it('drops the old metadata when an object is put again without any', async () => {
        await store.put('meta/k', 'a', { contentEncoding: 'gzip', metadata: { x: '1' } });
        await store.put('meta/k', 'b');
        const info = await store.head('meta/k');
        expect(info?.metadata).toEqual({});
        expect(info?.contentEncoding).toBeUndefined();
      });

      it('returns undefined for a missing key', async () => {
        expect(await store.head('no/such/key')).toBeUndefined();
      });

      it('rejects metadata that S3 would not hand back as it was given', async () => {
        await expect(store.put('m', 'x', { metadata: { 'App-Id': 'x' } })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.put('m', 'x', { metadata: { app: 'ümlaut' } })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.put('m', 'x', { contentType: 'text/plain\r\nx-evil: 1' })).rejects.toBeInstanceOf(InvalidInputError);
        expect(await store.head('m')).toBeUndefined();
      });
    });

    describe('get', () => {
      const text = 'abcdefghijklmnopqrstuvwxyz';

      it('rejects with NotFoundError naming the key when it is missing', async () => {
        const err = await store.get('no/such/key').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as NotFoundError).key).toBe('no/such/key');
      });

      it.each([
        [{ start: 2, end: 5 }, 'cdef'],
        [{ start: 20 }, 'uvwxyz'],
        [{ start: 0 }, text],
        [{ start: 23, end: 1000 }, 'xyz'],
        [{ start: 25, end: 25 }, 'z'],
      ])('reads the range %j', async (range, expected) => {
        await store.put('range', text);
        expect((await getBuffer(store, 'range', range)).toString()).toBe(expected);
      });

      it.each([{ start: 26 }, { start: 1000, end: 2000 }])('rejects the range %j past the end with RangeNotSatisfiableError', async (range) => {
        await store.put('range', text);
        const err = await store.get('range', range).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RangeNotSatisfiableError);
        expect(err).toMatchObject({ key: 'range', size: 26 });
      });

      it.each([{ start: -1 }, { start: 5, end: 2 }, { start: 1.5 }])('rejects the malformed range %j', async (range) => {
        await store.put('range', text);
        await expect(store.get('range', range)).rejects.toBeInstanceOf(InvalidInputError);
      });
    });

    describe('list', () => {
      const keys = ['list/k3', 'list/k1', 'list/sub/k5', 'list/k2', 'list/k4'];

      beforeEach(async () => {
        for (const key of [...keys, 'listing', 'other/k']) await store.put(key, key);
      });

      it('lists the keys under a prefix in order, with sizes', async () => {
        const page = await store.list('list/');
        expect(page.objects.map((o) => o.key)).toEqual(['list/k1', 'list/k2', 'list/k3', 'list/k4', 'list/sub/k5']);
        expect(page.objects.map((o) => o.size)).toEqual([7, 7, 7, 7, 11]);
        expect(page.nextToken).toBeUndefined();
      });

      it('pages through 5 keys 2 at a time without losing or repeating one', async () => {
        const pages: string[][] = [];
        let token: string | undefined;
        do {
          const page = await store.list('list/', { limit: 2, ...(token && { token }) });
          pages.push(page.objects.map((o) => o.key));
          token = page.nextToken;
        } while (token && pages.length < 10);
        expect(pages).toEqual([['list/k1', 'list/k2'], ['list/k3', 'list/k4'], ['list/sub/k5']]);
      });

      it('matches a prefix that ends inside a segment', async () => {
        const page = await store.list('list');
        expect(page.objects.map((o) => o.key)).toEqual(['list/k1', 'list/k2', 'list/k3', 'list/k4', 'list/sub/k5', 'listing']);
        expect((await store.list('list/s')).objects.map((o) => o.key)).toEqual(['list/sub/k5']);
      });

      it('lists everything for an empty prefix and nothing for an unknown one', async () => {
        const all = [];
        for await (const o of listAll(store, '')) all.push(o.key);
        expect(all).toEqual(['list/k1', 'list/k2', 'list/k3', 'list/k4', 'list/sub/k5', 'listing', 'other/k']);
        expect(await store.list('nothing/')).toEqual({ objects: [] });
      });

      it.each([0, -1, 2.5])('rejects the limit %s', async (limit) => {
        await expect(store.list('list/', { limit })).rejects.toBeInstanceOf(InvalidInputError);
      });
    });

    describe('delete', () => {
      it('deletes one key and leaves its neighbours', async () => {
        await store.put('d/a/one', '1');
        await store.put('d/a/two', '2');
        await store.delete('d/a/one');
        expect(await store.head('d/a/one')).toBeUndefined();
        await expect(store.get('d/a/one')).rejects.toBeInstanceOf(NotFoundError);
        expect((await getBuffer(store, 'd/a/two')).toString()).toBe('2');
      });

      it('accepts deleting a missing key', async () => {
        await expect(store.delete('d/never/was')).resolves.toBeUndefined();
      });

      it('deletes more than 1000 keys at once, missing ones included', async () => {
        const keys = Array.from({ length: 1001 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
        await mapConcurrently(keys, 64, (key) => store.put(key, 'x'));
        await store.put('keep', 'x');
        await store.deleteMany([...keys, 'many/missing']);
        expect((await store.list('many/')).objects).toEqual([]);
        expect(await store.head('keep')).toBeDefined();
      });

      it('deletes nothing when one key of many is unsafe', async () => {
        await store.put('safe', 'x');
        await expect(store.deleteMany(['safe', '../unsafe'])).rejects.toBeInstanceOf(InvalidInputError);
        expect(await store.head('safe')).toBeDefined();
      });
    });

    describe('copy', () => {
      const options = { contentType: 'application/json', contentEncoding: 'gzip', metadata: { origin: 'src' } };

      it('copies bytes and metadata to a key with spaces, = and non-ASCII', async () => {
        await store.put('c/src', '{"a":1}', options);
        const to = 'costs/dt=2024-05-01/spark apps/ümlaut.json';
        await store.copy('c/src', to);
        expect((await getBuffer(store, to)).toString()).toBe('{"a":1}');
        expect(await store.head(to)).toMatchObject({ contentType: 'application/json', contentEncoding: 'gzip', metadata: { origin: 'src' } });
        await store.copy(to, 'c/back');
        expect((await getBuffer(store, 'c/back')).toString()).toBe('{"a":1}');
      });

      it('replaces the metadata when options are given', async () => {
        await store.put('c/src', 'body', options);
        await store.copy('c/src', 'c/dst', { contentType: 'text/plain', metadata: { origin: 'copy' } });
        const info = await store.head('c/dst');
        expect(info).toMatchObject({ contentType: 'text/plain', metadata: { origin: 'copy' } });
        expect(info?.contentEncoding).toBeUndefined();
        expect(await store.head('c/src')).toMatchObject({ metadata: { origin: 'src' } });
      });

      it('copies an object onto itself: unchanged without options, new metadata with them', async () => {
        await store.put('c/self', 'body', options);
        await store.copy('c/self', 'c/self');
        expect(await store.head('c/self')).toMatchObject({ size: 4, metadata: { origin: 'src' } });
        await store.copy('c/self', 'c/self', { metadata: { origin: 'again' } });
        expect(await store.head('c/self')).toMatchObject({ size: 4, metadata: { origin: 'again' } });
        expect((await getBuffer(store, 'c/self')).toString()).toBe('body');
      });

      it('rejects with NotFoundError naming the source when it is missing', async () => {
        const err = await store.copy('c/missing', 'c/dst').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as NotFoundError).key).toBe('c/missing');
        expect(await store.head('c/dst')).toBeUndefined();
      });
    });

    describe('compose', () => {
      it('concatenates small sources in the order given; gzip members decompress to the joined text', async () => {
        const parts = { 'z/c': 'third line\n', 'z/a': 'second line\n', 'z/b': 'first line\n' };
        for (const [key, text] of Object.entries(parts)) {
          await store.put(key, gzipSync(text), { contentType: 'text/plain', contentEncoding: 'gzip', metadata: { part: key.slice(2) } });
        }
        await store.compose(['z/b', 'z/a', 'z/c'], 'z/all.log.gz');
        expect(gunzipSync(await getBuffer(store, 'z/all.log.gz')).toString()).toBe('first line\nsecond line\nthird line\n');
        // Without options the result carries the first source's metadata.
        expect(await store.head('z/all.log.gz')).toMatchObject({ contentType: 'text/plain', contentEncoding: 'gzip', metadata: { part: 'b' } });
      });

      it('applies the options given instead of the first source metadata', async () => {
        await store.put('z/1', 'a', { metadata: { part: '1' } });
        await store.put('z/2', 'b');
        await store.compose(['z/1', 'z/2'], 'z/out', { contentType: 'text/plain', metadata: { compacted: 'true' } });
        expect(await store.head('z/out')).toMatchObject({ size: 2, contentType: 'text/plain', metadata: { compacted: 'true' } });
      });

      it('composes one source, and into one of its own sources', async () => {
        await store.put('z/x', 'x');
        await store.put('z/y', 'y');
        await store.compose(['z/x'], 'z/only');
        expect((await getBuffer(store, 'z/only')).toString()).toBe('x');
        await store.compose(['z/x', 'z/y', 'z/x'], 'z/x');
        expect((await getBuffer(store, 'z/x')).toString()).toBe('xyx');
      });

      it('concatenates sources of 5 MiB and more, and leaves no unfinished upload behind', async () => {
        const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB + 17), randomBytes(1000)];
        for (const [i, body] of bodies.entries()) await store.put(`big/part-${i}`, body);
        await store.compose(['big/part-0', 'big/part-1', 'big/part-2'], 'big/all', { contentType: 'application/octet-stream' });
        const all = await getBuffer(store, 'big/all');
        expect(all.length).toBe(10 * MiB + 1017);
        expect(sha256(all)).toBe(sha256(Buffer.concat(bodies)));
        expect(await fixture.leftovers()).toEqual([]);
      });

      it('rejects with NotFoundError when a source is missing, and writes nothing', async () => {
        await store.put('z/there', 'x');
        const err = await store.compose(['z/there', 'z/missing'], 'z/out').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as NotFoundError).key).toBe('z/missing');
        expect(await store.head('z/out')).toBeUndefined();
      });

      it('rejects an empty list of sources', async () => {
        await expect(store.compose([], 'z/out')).rejects.toBeInstanceOf(InvalidInputError);
      });
    });

    describe('create-only put (ifNoneMatch)', () => {
      it('creates an object that is not there, with its metadata', async () => {
        await store.put('claims/a.json', '{"pod":"a"}', { ifNoneMatch: '*', contentType: 'application/json', metadata: { holder: 'a' } });
        expect((await getBuffer(store, 'claims/a.json')).toString()).toBe('{"pod":"a"}');
        const info = await store.head('claims/a.json');
        expect(info?.contentType).toBe('application/json');
        expect(info?.metadata).toEqual({ holder: 'a' });
      });

      it('says whether the backend enforces it, as probeCreateOnly finds', async () => {
        expect(await probeCreateOnly(store, 'probe/')).toBe(fixture.createOnly);
        expect((await store.list('probe/')).objects).toEqual([]);
      });

      it('refuses a second create of a key where enforced (and keeps the first), overwrites where not', async () => {
        await store.put('claims/b.json', 'first', { ifNoneMatch: '*', metadata: { holder: 'first' } });
        const second = store.put('claims/b.json', 'second', { ifNoneMatch: '*', metadata: { holder: 'second' } });
        if (fixture.createOnly === 'enforced') {
          await expect(second).rejects.toBeInstanceOf(PreconditionFailedError);
          expect((await getBuffer(store, 'claims/b.json')).toString()).toBe('first');
          expect((await store.head('claims/b.json'))?.metadata).toEqual({ holder: 'first' });
        } else {
          await second;
          expect((await getBuffer(store, 'claims/b.json')).toString()).toBe('second');
        }
      });

      it('lets exactly one of 20 racing creates of one key win where enforced', async () => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => store.put('claims/race.json', `writer ${i}`, { ifNoneMatch: '*' })),
        );
        const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(PreconditionFailedError);
        const body = (await getBuffer(store, 'claims/race.json')).toString();
        if (fixture.createOnly === 'enforced') {
          expect(won).toHaveLength(1);
          expect(body).toBe(`writer ${won[0]}`);
        } else {
          expect(won).toHaveLength(20);
        }
      });

      it('takes a stream body, and refuses anything but "*" and create-only copy or compose', async () => {
        await store.put('claims/stream', Readable.from([Buffer.from('one '), 'two']), { ifNoneMatch: '*' });
        expect((await getBuffer(store, 'claims/stream')).toString()).toBe('one two');
        await expect(store.put('claims/c', 'x', { ifNoneMatch: 'etag' as '*' })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.copy('claims/stream', 'claims/d', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.compose(['claims/stream'], 'claims/e', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(InvalidInputError);
        expect(await store.head('claims/c')).toBeUndefined();
      });
    });

    describe('unsafe keys', () => {
      it.each(UNSAFE_KEYS)('rejects %j (%s) in every operation', async (key) => {
        await store.put('ok', 'x');
        const attempts: [string, () => Promise<unknown>][] = [
          ['put', () => store.put(key, 'x')],
          ['get', () => store.get(key)],
          ['head', () => store.head(key)],
          ['delete', () => store.delete(key)],
          ['deleteMany', () => store.deleteMany([key])],
          ['copy from', () => store.copy(key, 'ok2')],
          ['copy to', () => store.copy('ok', key)],
          ['compose from', () => store.compose(['ok', key], 'ok3')],
          ['compose to', () => store.compose(['ok'], key)],
        ];
        for (const [operation, attempt] of attempts) {
          await expect(attempt(), operation).rejects.toBeInstanceOf(InvalidInputError);
        }
        expect((await store.list('')).objects.map((o) => o.key)).toEqual(['ok']);
      });

      it.each(['../', '/abs', 'a//', 'a\\b'])('rejects the list prefix %j', async (prefix) => {
        await expect(store.list(prefix)).rejects.toBeInstanceOf(InvalidInputError);
      });
    });
  });
}
