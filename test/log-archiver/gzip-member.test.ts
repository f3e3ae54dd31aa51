import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  ArchiveFormatError,
  MAX_MEMBER_TEXT_BYTES,
  type MemberIndex,
  decodeMember,
  encodeMember,
  memberBoundaries,
  readMembers,
  streamMembers,
} from '../../functions/log-archiver/gzip-member.js';

function indexOf(offsets: number[], lines: string[]): MemberIndex {
  return { topic: 'spark-logs', partition: 3, offsets, lengths: lines.map((l) => Buffer.byteLength(l) + 1), firstTime: 1747188902417, lastTime: 1747188904902 };
}

async function member(offsets: number[], lines: string[]): Promise<Buffer> {
  return encodeMember(indexOf(offsets, lines), Buffer.from(lines.map((l) => `${l}\n`).join('')), 6);
}

describe('log-archiver gzip members', () => {
  it('is plain gzip to any reader, and carries its index for ours', async () => {
    const bytes = await member([7, 9, 2 ** 40], ['first', 'sécond', 'third']);
    expect(gunzipSync(bytes).toString()).toBe('first\nsécond\nthird\n');
    const [read] = readMembers(bytes, 'k');
    expect(read!.index).toEqual(indexOf([7, 9, 2 ** 40], ['first', 'sécond', 'third']));
    expect(read!.textBytes).toBe(20);
    expect((await decodeMember(read!, 'k')).toString()).toBe('first\nsécond\nthird\n');
  });

  it('concatenates: members one after another are one gzip stream and read back one by one', async () => {
    const all = Buffer.concat([await member([1, 2], ['a', 'b']), await member([5], ['c']), await member([6, 8], ['d', 'e'])]);
    expect(gunzipSync(all).toString()).toBe('a\nb\nc\nd\ne\n');
    expect(readMembers(all, 'k').map((m) => m.index.offsets)).toEqual([[1, 2], [5], [6, 8]]);
  });

  it('reads members from a stream that arrives a few bytes at a time', async () => {
    const all = Buffer.concat([await member([1, 2], ['a', 'b']), await member([5], ['c'.repeat(5000)])]);
    const pieces: Buffer[] = [];
    for (let i = 0; i < all.length; i += 7) pieces.push(all.subarray(i, i + 7));
    const offsets: number[][] = [];
    for await (const m of streamMembers(Readable.from(pieces), 'k')) offsets.push(m.index.offsets);
    expect(offsets).toEqual([[1, 2], [5]]);
  });

  it('refuses what it did not write, naming the object', async () => {
    const plain = gzipSync('a\n');
    expect(() => readMembers(plain, 'logs/x')).toThrow(ArchiveFormatError);
    expect(() => readMembers(plain, 'logs/x')).toThrow(/logs\/x/);
    const cut = (await member([1, 2], ['a', 'b'])).subarray(0, 30);
    expect(() => readMembers(cut, 'k')).toThrow(/ends inside/);
    await expect(async () => {
      for await (const _ of streamMembers(Readable.from([cut]), 'k'));
    }).rejects.toThrow(/ends inside/);
  });

  it('splits entries so that each member index fits the gzip extra field and the text stays bounded', () => {
    const offsets = Array.from({ length: 50_000 }, (_, i) => i * 1000);
    const lengths = offsets.map(() => 100);
    const ends = memberBoundaries('spark-logs', offsets, lengths);
    expect(ends.at(-1)).toBe(50_000);
    expect(ends.length).toBeGreaterThan(1);
    const big = memberBoundaries('t', [1, 2, 3], [MAX_MEMBER_TEXT_BYTES, 10, MAX_MEMBER_TEXT_BYTES]);
    expect(big).toEqual([1, 2, 3]);
  });

  it('writes members whose index fills nearly the whole extra field', async () => {
    const offsets = Array.from({ length: 30_000 }, (_, i) => i * 3);
    const ends = memberBoundaries('spark-logs', offsets, offsets.map(() => 2));
    let start = 0;
    const members: Buffer[] = [];
    for (const end of ends) {
      const lines = offsets.slice(start, end).map(() => 'x');
      members.push(await member(offsets.slice(start, end), lines));
      start = end;
    }
    const read = readMembers(Buffer.concat(members), 'k');
    expect(read.flatMap((m) => m.index.offsets)).toEqual(offsets);
  });
});
