import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../shared/errors.js';
import { FileObjectStore, RESERVED_DIR } from '../../shared/store/fs-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { describeObjectStoreContract, UNSAFE_KEYS } from './object-store-contract.js';

/** Every file and folder under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}

describeObjectStoreContract('FileObjectStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sparkfn-fs-store-'));
  return {
    store: new FileObjectStore(join(dir, 'data')),
    leftovers: async () => (await readdir(join(dir, 'data', RESERVED_DIR, 'tmp')).catch(() => [])).map(String),
    createOnly: 'enforced',
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

// The same contract with every write fsynced (SPARKFN_STORE_FSYNC): the flushes must not change
// what the store does. That a write then survives a power cut cannot be tested here.
describeObjectStoreContract('FileObjectStore with fsync', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sparkfn-fs-store-fsync-'));
  return {
    store: new FileObjectStore(join(dir, 'data'), { fsync: true }),
    leftovers: async () => (await readdir(join(dir, 'data', RESERVED_DIR, 'tmp')).catch(() => [])).map(String),
    createOnly: 'enforced',
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('FileObjectStore', () => {
  let root: string;
  let dir: string;
  let store: FileObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sparkfn-fs-store-'));
    dir = join(root, 'data');
    store = new FileObjectStore(dir);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps each object as the file dir/<key>, readable with ordinary tools', async () => {
    await store.put('logs/app-1/exec-1/stdout.log', 'hello');
    expect(store.url).toBe(`file://${dir}`);
    expect(await tree(dir)).toContain(join('logs', 'app-1', 'exec-1', 'stdout.log'));
  });

  it('lists in UTF-8 byte order, as S3 does, across folders and non-ASCII names', async () => {
    // UTF-16 order would put U+1F600 before U+FFFD; '-' (0x2d) sorts before '/' (0x2f), so a-b before a/…
    const keys = ['p/\u{1F600}', 'p/\uFFFD', 'p/b/c', 'p/b-d', 'p/b', 'p/a', 'p/B', 'p/a.txt', 'p/a0'];
    const collides = ['p/b'];
    for (const key of keys.filter((k) => !collides.includes(k))) await store.put(key, key);
    const expected = keys
      .filter((k) => !collides.includes(k))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(expected).toEqual(['p/B', 'p/a', 'p/a.txt', 'p/a0', 'p/b-d', 'p/b/c', 'p/\uFFFD', 'p/\u{1F600}']);
    expect((await store.list('p/')).objects.map((o) => o.key)).toEqual(expected);

    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await store.list('p/', { limit: 1, ...(token && { token }) });
      paged.push(...page.objects.map((o) => o.key));
      token = page.nextToken;
    } while (token);
    expect(paged).toEqual(expected);
  });

  it('never lists its temp files or metadata, and rejects keys in its reserved folder', async () => {
    await store.put('a', 'x', { metadata: { k: 'v' } });
    await writeFile(join(dir, RESERVED_DIR, 'tmp', 'half-written'), 'partial');
    expect((await store.list('')).objects.map((o) => o.key)).toEqual(['a']);
    await expect(store.put(`${RESERVED_DIR}/meta/a`, 'x')).rejects.toBeInstanceOf(InvalidInputError);
    await expect(store.get(`${RESERVED_DIR}/tmp/half-written`)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('rejects a key that is also the folder of other keys, with a clear error', async () => {
    await store.put('a/b', 'x');
    await expect(store.put('a', 'y')).rejects.toThrow(/collides with another key/);
    await store.put('c', 'x');
    await expect(store.put('c/d', 'y')).rejects.toThrow(/collides with another key/);
    expect((await store.list('')).objects.map((o) => o.key)).toEqual(['a/b', 'c']);
    expect(await readdir(join(dir, RESERVED_DIR, 'tmp'))).toEqual([]);
  });

  it('removes folders left empty by a delete, and only those', async () => {
    await store.put('x/y/z/one', '1', { metadata: { k: 'v' } });
    await store.put('x/keep', '2');
    await store.delete('x/y/z/one');
    expect(await tree(dir)).toEqual([RESERVED_DIR, join(RESERVED_DIR, 'meta'), join(RESERVED_DIR, 'tmp'), 'x', join('x', 'keep')]);
  });

  it('treats a folder of other keys as no object', async () => {
    await store.put('f/inner', 'x');
    expect(await store.head('f')).toBeUndefined();
    await expect(store.get('f')).rejects.toThrow(/No object at key "f"/);
    await store.delete('f');
    expect((await getBuffer(store, 'f/inner')).toString()).toBe('x');
  });

  it.each(UNSAFE_KEYS)('writes nothing outside its directory for %j (%s)', async (key) => {
    await expect(store.put(key, 'x')).rejects.toBeInstanceOf(InvalidInputError);
    expect(await readdir(root)).toEqual([]);
  });

  it('rejects a key segment longer than the filesystem allows, with a clear error', async () => {
    await expect(store.put(`long/${'x'.repeat(300)}`, 'x')).rejects.toThrow(/a segment of 300 bytes; a file name stops at 255/);
    await expect(store.head(`long/${'x'.repeat(300)}`)).rejects.toBeInstanceOf(InvalidInputError);
    expect(await readdir(root)).toEqual([]);
  });

  it('rejects a list token it did not issue', async () => {
    await store.put('a', 'x');
    await expect(store.list('', { token: 'not a token!' })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(store.list('', { token: Buffer.from('../x').toString('base64url') })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('serves a reader the bytes it opened while a put replaces the object', async () => {
    await store.put('r', 'old bytes');
    const reading = await store.get('r');
    await store.put('r', 'new bytes, longer than before');
    expect((await getBuffer(store, 'r')).toString()).toBe('new bytes, longer than before');
    const chunks: Buffer[] = [];
    for await (const chunk of reading) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('old bytes');
  });
});
