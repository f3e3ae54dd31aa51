import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback, gzipSync } from 'node:zlib';
import { SparkfnError } from '../../shared/errors.js';

const gzip = promisify(gzipCallback);
/**
 * Texts up to this size are compressed on the calling thread: for a typical chunk (tens of KiB)
 * the trip through libuv's threadpool (a zlib handle set up there, the callback, the promise)
 * costs as much as the deflate itself, and the archiver has nothing else to do meanwhile.
 * Bigger members (up to MAX_MEMBER_TEXT_BYTES) go to the threadpool, so as not to block for long.
 */
export const SYNC_GZIP_MAX_BYTES = 256 * 1024;
const gunzip = promisify(gunzipCallback);

/**
 * Which Kafka records a gzip member holds, stored in the member's own header (RFC 1952 FEXTRA
 * subfield `SL`). Every archived log object is a sequence of such members: chunks have one or a
 * few, a compacted object is the concatenation of its chunks' members. gzip readers ignore the
 * field and see one text; compaction and the viewer read it to drop re-delivered records
 * line by line, without decompressing anything that is not a duplicate.
 */
export interface MemberIndex {
  topic: string;
  partition: number;
  /** Kafka offsets of the entries, strictly ascending. */
  offsets: number[];
  /** Bytes of each entry in the text, its newline included. */
  lengths: number[];
  /** Event time of the first and last entry (ms since the epoch), 0 when unknown. */
  firstTime: number;
  lastTime: number;
}

/** One gzip member as stored: its bytes and what they hold. */
export interface Member {
  index: MemberIndex;
  /** The whole member: header, deflate data, CRC32 and size. */
  bytes: Buffer;
  /** Uncompressed size: the sum of `index.lengths`. */
  textBytes: number;
}

/** A stored object that is not a sequence of log-archiver gzip members. */
export class ArchiveFormatError extends SparkfnError {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`The object ${JSON.stringify(key)} is not a log-archiver gzip stream: ${detail}.`);
    this.name = 'ArchiveFormatError';
  }
}

const SI1 = 0x53; // S
const SI2 = 0x4c; // L
const FORMAT_VERSION = 1;
const FEXTRA = 0x04;
/** The fixed gzip header (10 bytes), XLEN (2) and our subfield's id and length (4). */
const HEADER_BYTES = 16;
/** RFC 1952 caps the extra field at 65,535 bytes, the subfield header included. */
const MAX_INDEX_BYTES = 65_535 - 4;
/** Room for the index's fixed fields: version, body and text sizes, partition, count, times (varints of up to 8 bytes). */
const FIXED_INDEX_BYTES = 1 + 8 * 7;
/**
 * Largest text in one member. Members are what compaction and the viewer decompress when a
 * re-delivery overlaps, and the smallest unit `?tail=` and byte ranges read through the log
 * index (log-index.ts), so this bounds their memory and what a tail reads; a longer group is
 * split. Deflate looks back 32 KiB only, so members of 1 MiB compress as well as bigger ones.
 */
export const MAX_MEMBER_TEXT_BYTES = 1024 * 1024;

/**
 * Splits entries (by their text lengths and offsets) into runs that each fit one member: index
 * within the gzip extra-field limit, text within MAX_MEMBER_TEXT_BYTES. Returns end indexes.
 */
export function memberBoundaries(topic: string, offsets: readonly number[], lengths: readonly number[], maxTextBytes = MAX_MEMBER_TEXT_BYTES): number[] {
  const ends: number[] = [];
  const fixed = FIXED_INDEX_BYTES + varintSize(Buffer.byteLength(topic)) + Buffer.byteLength(topic);
  let indexBytes = fixed;
  let textBytes = 0;
  let start = 0;
  for (let i = 0; i < offsets.length; i++) {
    const entry = (i === start ? 8 : varintSize((offsets[i] as number) - (offsets[i - 1] as number))) + varintSize(lengths[i] as number);
    if (i > start && (indexBytes + entry > MAX_INDEX_BYTES || textBytes + (lengths[i] as number) > maxTextBytes)) {
      ends.push(i);
      start = i;
      indexBytes = fixed + 8 + varintSize(lengths[i] as number);
      textBytes = lengths[i] as number;
      continue;
    }
    indexBytes += entry;
    textBytes += lengths[i] as number;
  }
  if (offsets.length > start) ends.push(offsets.length);
  return ends;
}

/**
 * One gzip member holding `text` (the entries of `index`, concatenated) with `index` in its
 * header. The index must fit one member (see memberBoundaries).
 * @example const member = await encodeMember({ topic: 'spark-logs', partition: 0, offsets: [7], lengths: [3], firstTime: 0, lastTime: 0 }, Buffer.from('hi\n'), 6);
 */
export async function encodeMember(index: MemberIndex, text: Buffer, level: number): Promise<Buffer> {
  return text.length <= SYNC_GZIP_MAX_BYTES ? encodeMemberSync(index, text, level) : withIndex(index, await gzip(text, { level }), text.length);
}

/**
 * encodeMember on the calling thread, for a text of at most SYNC_GZIP_MAX_BYTES: `text` is
 * compressed before this returns, so the caller may reuse its memory at once.
 */
export function encodeMemberSync(index: MemberIndex, text: Buffer, level: number): Buffer {
  return withIndex(index, gzipSync(text, { level }), text.length);
}

/**
 * The gzip member zlib wrote (`deflated`: a whole gzip stream of `textBytes` bytes of text, as
 * gzipSync returns it), with `index` put in its header. For a text whose deflate output is
 * already at hand (a benchmark reusing one body under new offsets).
 */
export function withIndex(index: MemberIndex, deflated: Buffer, textBytes: number): Buffer {
  // zlib writes a 10-byte header with no flags; we set FEXTRA and put our index after it.
  const body = deflated.subarray(10);
  const data = encodeIndex(index, body.length, textBytes);
  if (data.length > MAX_INDEX_BYTES) throw new SparkfnError(`A gzip member index of ${data.length} bytes does not fit the gzip extra field; split the entries first.`);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  deflated.copy(header, 0, 0, 10);
  header[3] = FEXTRA;
  header.writeUInt16LE(data.length + 4, 10);
  header[12] = SI1;
  header[13] = SI2;
  header.writeUInt16LE(data.length, 14);
  return Buffer.concat([header, data, body]);
}

/** The text of one member (its entries concatenated), checked against the index. */
export async function decodeMember(member: Member, key: string): Promise<Buffer> {
  const text = await gunzip(member.bytes);
  if (text.length !== member.textBytes) throw new ArchiveFormatError(key, `a member holds ${text.length} bytes of text where its index says ${member.textBytes}`);
  return text;
}

/**
 * The member starting at `pos` in `buf`, and where the next one starts; undefined when `buf`
 * ends before the member does (a stream reader then reads on).
 */
export function readMemberAt(buf: Buffer, pos: number, key: string): { member: Member; next: number } | undefined {
  if (buf.length - pos < 12) return undefined;
  if (buf[pos] !== 0x1f || buf[pos + 1] !== 0x8b || buf[pos + 2] !== 8) throw new ArchiveFormatError(key, `no gzip member starts at byte ${pos}`);
  if (buf[pos + 3] !== FEXTRA) throw new ArchiveFormatError(key, `the gzip member at byte ${pos} carries no log-archiver index`);
  const xlen = buf.readUInt16LE(pos + 10);
  if (buf.length - pos < 12 + xlen) return undefined;
  const extra = findSubfield(buf.subarray(pos + 12, pos + 12 + xlen));
  if (!extra) throw new ArchiveFormatError(key, `the gzip member at byte ${pos} carries no log-archiver index`);
  const { index, bodyBytes, textBytes } = decodeIndex(extra, key);
  const end = pos + 12 + xlen + bodyBytes;
  if (buf.length < end) return undefined;
  // The last 4 bytes of a member are the text size mod 2^32 (RFC 1952 ISIZE).
  if (buf.readUInt32LE(end - 4) !== textBytes % 2 ** 32) throw new ArchiveFormatError(key, `the gzip member at byte ${pos} ends with the wrong size`);
  return { member: { index, bytes: buf.subarray(pos, end), textBytes }, next: end };
}

/** Every member of a whole object in memory (a chunk). */
export function readMembers(buf: Buffer, key: string): Member[] {
  const members: Member[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const read = readMemberAt(buf, pos, key);
    if (!read) throw new ArchiveFormatError(key, `it ends inside the gzip member at byte ${pos}`);
    members.push(read.member);
    pos = read.next;
  }
  return members;
}

/**
 * The members of a stored object as they arrive, holding about one member in memory at a time
 * (a compacted object may be far larger than memory).
 */
export async function* streamMembers(stream: Readable, key: string): AsyncGenerator<Member> {
  const source = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buf = Buffer.alloc(0);
  let ended = false;
  // Reads until `buf` holds `n` bytes or the stream ends; joins the pieces once, not per chunk.
  const fill = async (n: number) => {
    const pieces: Buffer[] = [buf];
    let have = buf.length;
    while (have < n && !ended) {
      const next = await source.next();
      if (next.done) ended = true;
      else {
        pieces.push(next.value);
        have += next.value.length;
      }
    }
    if (pieces.length > 1) buf = Buffer.concat(pieces, have);
  };
  try {
    let at = 0;
    for (;;) {
      await fill(12);
      if (buf.length === 0) return;
      if (buf.length < 12) throw new ArchiveFormatError(key, `it ends inside the gzip member at byte ${at}`);
      await fill(12 + buf.readUInt16LE(10));
      const extent = memberExtent(buf, key, at);
      await fill(extent);
      const read = readMemberAt(buf, 0, key);
      if (!read) throw new ArchiveFormatError(key, `it ends inside the gzip member at byte ${at}`);
      yield read.member;
      buf = buf.subarray(read.next);
      at += read.next;
    }
  } finally {
    await source.return?.();
  }
}

/** The length of the member at the start of `buf`, once its header and index are in. */
function memberExtent(buf: Buffer, key: string, at: number): number {
  if (buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) throw new ArchiveFormatError(key, `no gzip member starts at byte ${at}`);
  if (buf[3] !== FEXTRA) throw new ArchiveFormatError(key, `the gzip member at byte ${at} carries no log-archiver index`);
  const xlen = buf.readUInt16LE(10);
  if (buf.length < 12 + xlen) throw new ArchiveFormatError(key, `it ends inside the gzip member at byte ${at}`);
  const extra = findSubfield(buf.subarray(12, 12 + xlen));
  if (!extra) throw new ArchiveFormatError(key, `the gzip member at byte ${at} carries no log-archiver index`);
  // The body size is the index's first number: no need to decode the offsets yet.
  const r = new VarintReader(extra, key);
  const version = r.byte();
  if (version !== FORMAT_VERSION) throw new ArchiveFormatError(key, `its index has format version ${version}, this build reads ${FORMAT_VERSION}`);
  return 12 + xlen + r.varint();
}

function findSubfield(extra: Buffer): Buffer | undefined {
  let p = 0;
  while (p + 4 <= extra.length) {
    const len = extra.readUInt16LE(p + 2);
    if (extra[p] === SI1 && extra[p + 1] === SI2) return extra.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
  return undefined;
}

function encodeIndex(index: MemberIndex, bodyBytes: number, textBytes: number): Buffer {
  const topic = Buffer.from(index.topic, 'utf8');
  const count = index.offsets.length;
  const w = new VarintWriter(FIXED_INDEX_BYTES + topic.length + count * 12);
  w.byte(FORMAT_VERSION);
  w.varint(bodyBytes);
  w.varint(textBytes);
  w.varint(topic.length);
  w.bytes(topic);
  w.varint(index.partition);
  w.varint(count);
  w.varint(index.offsets[0] ?? 0);
  for (let i = 1; i < count; i++) w.varint((index.offsets[i] as number) - (index.offsets[i - 1] as number));
  for (let i = 0; i < count; i++) w.varint(index.lengths[i] as number);
  w.varint(index.firstTime);
  w.varint(index.lastTime);
  return w.done();
}

function decodeIndex(data: Buffer, key: string): { index: MemberIndex; bodyBytes: number; textBytes: number } {
  const r = new VarintReader(data, key);
  const version = r.byte();
  if (version !== FORMAT_VERSION) throw new ArchiveFormatError(key, `its index has format version ${version}, this build reads ${FORMAT_VERSION}`);
  const bodyBytes = r.varint();
  const textBytes = r.varint();
  const topic = r.bytes(r.varint()).toString('utf8');
  const partition = r.varint();
  const count = r.varint();
  if (count === 0 || count > data.length) throw new ArchiveFormatError(key, 'a member index has an impossible entry count');
  const offsets = new Array<number>(count);
  offsets[0] = r.varint();
  for (let i = 1; i < count; i++) offsets[i] = (offsets[i - 1] as number) + r.varint();
  const lengths = new Array<number>(count);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += lengths[i] = r.varint();
  if (sum !== textBytes) throw new ArchiveFormatError(key, 'a member index does not add up');
  const firstTime = r.varint();
  const lastTime = r.varint();
  return { index: { topic, partition, offsets, lengths, firstTime, lastTime }, bodyBytes, textBytes };
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** LEB128-style varints for non-negative integers up to 2^53 (arithmetic, not 32-bit shifts). */
class VarintWriter {
  private buf: Buffer;
  private p = 0;
  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.p++] = b;
  }
  varint(n: number): void {
    this.ensure(8);
    while (n >= 128) {
      this.buf[this.p++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.p++] = n;
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.p);
    this.p += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.p);
  }
  private ensure(n: number): void {
    if (this.p + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.p + n));
    this.buf.copy(bigger, 0, 0, this.p);
    this.buf = bigger;
  }
}

class VarintReader {
  private p = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly key: string,
  ) {}
  byte(): number {
    if (this.p >= this.buf.length) throw new ArchiveFormatError(this.key, 'a member index is cut short');
    return this.buf[this.p++] as number;
  }
  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 127) * scale;
      if (b < 128) return n;
      scale *= 128;
      if (scale > 2 ** 56) throw new ArchiveFormatError(this.key, 'a member index holds a number that is too large');
    }
  }
  bytes(n: number): Buffer {
    if (this.p + n > this.buf.length) throw new ArchiveFormatError(this.key, 'a member index is cut short');
    const out = this.buf.subarray(this.p, this.p + n);
    this.p += n;
    return out;
  }
}
