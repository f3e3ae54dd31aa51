import { ByteQueue } from './byte-queue.js';
import { CorruptEventLogError } from './corrupt-event-log.js';
import { xxhash32 } from './xxhash32.js';

/**
 * lz4-java's LZ4BlockOutputStream format, which Spark's `lz4` codec writes: blocks of
 * `"LZ4Block"`, a token (method 0x10 raw / 0x20 LZ4 in the high nibble), compressed and
 * decompressed lengths (int32 LE), the xxHash32 of the decompressed bytes (seed 0x9747b28c,
 * masked to 28 bits), then the data. An all-zero raw block ends a stream; another may follow.
 */
export const LZ4_BLOCK_MAGIC = Buffer.from('LZ4Block', 'latin1');
export const LZ4_BLOCK_HEADER_LENGTH = 21;
export const LZ4_BLOCK_SEED = 0x9747b28c;
const METHOD_RAW = 0x10;
const METHOD_LZ4 = 0x20;
/** lz4-java's largest block (compression level 15: 1 << 25 bytes). */
const MAX_BLOCK_BYTES = 1 << 25;

/** The 28-bit checksum lz4-java's `asChecksum()` reports. */
export function lz4BlockChecksum(data: Uint8Array): number {
  return xxhash32(data, LZ4_BLOCK_SEED) & 0x0fffffff;
}

/**
 * Decodes an LZ4BlockOutputStream. lz4-napi's `uncompressSync` reads a raw LZ4 block prefixed
 * with its decompressed size (int32 LE, lz4_flex's `decompress_size_prepended`), so each block
 * gets that prefix and goes to the native decoder.
 */
export async function* decodeLz4Block(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // A native addon: loaded on the first lz4 event log, not on every cold start.
  const { uncompressSync } = await import('lz4-napi');
  const queue = new ByteQueue();
  let blocks = 0;
  let sawEnd = false;
  const next = function* (): Generator<Buffer> {
    for (;;) {
      const header = queue.peek(LZ4_BLOCK_HEADER_LENGTH);
      if (!header) return;
      if (!header.subarray(0, 8).equals(LZ4_BLOCK_MAGIC)) throw new CorruptEventLogError(`lz4 block ${blocks + 1} does not start with "LZ4Block".`);
      const method = header[8]! & 0xf0;
      const compressed = header.readInt32LE(9);
      const original = header.readInt32LE(13);
      const checksum = header.readInt32LE(17);
      if ((method !== METHOD_RAW && method !== METHOD_LZ4) || original < 0 || original > MAX_BLOCK_BYTES || compressed < 0 || (method === METHOD_RAW && compressed !== original)) {
        throw new CorruptEventLogError(`lz4 block ${blocks + 1} has an invalid header (method 0x${method.toString(16)}, lengths ${compressed}/${original}).`);
      }
      if (queue.length < LZ4_BLOCK_HEADER_LENGTH + compressed) return;
      queue.take(LZ4_BLOCK_HEADER_LENGTH);
      const body = queue.take(compressed)!;
      blocks++;
      if (original === 0) {
        sawEnd = true;
        continue;
      }
      sawEnd = false;
      let data: Buffer;
      if (method === METHOD_RAW) data = Buffer.from(body);
      else {
        const framed = Buffer.allocUnsafe(4 + compressed);
        framed.writeInt32LE(original, 0);
        body.copy(framed, 4);
        try {
          data = uncompressSync(framed);
        } catch (err) {
          throw new CorruptEventLogError(`lz4 block ${blocks} does not decompress: ${(err as Error).message}.`);
        }
      }
      if (data.length !== original) throw new CorruptEventLogError(`lz4 block ${blocks} decompressed to ${data.length} bytes, its header says ${original}.`);
      if (lz4BlockChecksum(data) !== (checksum & 0x0fffffff)) throw new CorruptEventLogError(`lz4 block ${blocks} fails its checksum.`);
      yield data;
    }
  };
  for await (const chunk of source) {
    queue.push(chunk);
    yield* next();
  }
  yield* next();
  // A log still being written (.inprogress) legitimately ends without the end mark; a cut-off block does not.
  if (queue.length > 0) throw new CorruptEventLogError(`lz4 stream ends inside a block (${queue.length} bytes left after block ${blocks}).`);
  void sawEnd;
}
