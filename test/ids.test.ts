import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../shared/errors.js';
import { KEY_SUFFIX_ROOM_BYTES, MAX_ID_BYTES, assertKeySegment, isSafeKeySegment } from '../shared/ids.js';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { MAX_SEGMENT_BYTES, objectKeyProblem } from '../shared/store/object-key.js';

describe('key segments', () => {
  it.each(['spark-a1b2c3d4e5f6', '1', 'driver', 'application_1553914137147_0018', 'a.b-c_d', 'x'.repeat(240), 'é'.repeat(120), '日本'])('accepts %j', (id) => {
    expect(isSafeKeySegment(id)).toBe(true);
  });

  it.each([
    ['', /empty/],
    ['..', /relative/],
    ['.', /relative/],
    ['a..b', /'\.\.'/],
    ['a/b', /slash/],
    ['a\\b', /slash/],
    ['a\nb', /control/],
    ['a\u0000b', /control/],
    ['a\u009bb', /control/],
    ['x'.repeat(241), /241 bytes long .*stop at 240 bytes/],
    // Issue #14: 253 characters pass a character count, but 306 bytes make no file name.
    ['日'.repeat(102), /306 bytes long/],
    ['é'.repeat(121), /242 bytes long/],
    ['a\uD800b', /lone surrogate/],
  ])('refuses %j', (id, why) => {
    expect(isSafeKeySegment(id)).toBe(false);
    expect(() => assertKeySegment(id, 'app id')).toThrow(why);
    expect(() => assertKeySegment(id, 'app id')).toThrow(InvalidInputError);
  });

  it('refuses what is not a string', () => {
    expect(isSafeKeySegment(42)).toBe(false);
    expect(isSafeKeySegment(undefined)).toBe(false);
  });
});

describe('key limits of every store, where ids are validated', () => {
  it('leaves room for the longest suffix we add, within a file name', () => {
    expect(MAX_ID_BYTES + KEY_SUFFIX_ROOM_BYTES).toBe(MAX_SEGMENT_BYTES);
    expect(MAX_SEGMENT_BYTES).toBe(255);
    // Every id that passes makes a valid key with a `.log.gz` or `.json` suffix, in the filesystem store's terms.
    const longest = 'é'.repeat(MAX_ID_BYTES / 2);
    expect(isSafeKeySegment(longest)).toBe(true);
    expect(objectKeyProblem(`costs/dt=2026-01-01/${longest}/${longest}.json`)).toBeUndefined();
    expect(objectKeyProblem(`logs/${longest}/${longest}/stdout.log.gz`)).toBeUndefined();
  });

  it('refuses a key with a segment over 255 bytes, and one over 1024 bytes in all', () => {
    expect(objectKeyProblem(`logs/${'日'.repeat(86)}`)).toMatch(/segment of 258 bytes; a file name stops at 255/);
    expect(objectKeyProblem(Array(5).fill('x'.repeat(205)).join('/'))).toMatch(/longer than 1024 bytes/);
  });

  it('makes the file store refuse such a key before touching the disk, like the S3 store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparkfn-ids-'));
    try {
      const store = new FileObjectStore(dir);
      await expect(store.put(`logs/${'x'.repeat(256)}/a`, 'x')).rejects.toThrow(InvalidInputError);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
