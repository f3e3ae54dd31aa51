import { uncompress } from 'snappyjs';
import { ByteQueue } from './byte-queue.js';
import { CorruptEventLogError } from './corrupt-event-log.js';

/**
 * snappy-java's SnappyOutputStream format, which Spark's `snappy` codec writes: a 16-byte header
 * (`\x82SNAPPY\0`, version and compatible version as int32 BE), then blocks of an int32 BE
 * length and a raw snappy block. Concatenated streams repeat the header, as SnappyInputStream
 * accepts.
 */
export const SNAPPY_JAVA_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
export const SNAPPY_JAVA_HEADER_LENGTH = 16;
/** snappy-java writes blocks of at most 32 KiB by default; a length past 64 MiB is corruption, not data. */
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

/** Decodes a snappy-java stream with snappyjs (raw snappy blocks). */
export async function* decodeSnappyJava(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const queue = new ByteQueue();
  let blocks = 0;
  let sawHeader = false;
  const next = function* (): Generator<Buffer> {
    for (;;) {
      const magic = queue.peek(SNAPPY_JAVA_MAGIC.length);
      if (!magic) return;
      if (magic.equals(SNAPPY_JAVA_MAGIC)) {
        if (!queue.take(SNAPPY_JAVA_HEADER_LENGTH)) return;
        sawHeader = true;
        continue;
      }
      if (!sawHeader) throw new CorruptEventLogError('snappy stream does not start with snappy-java\'s header.');
      const length = queue.peek(4)!.readInt32BE(0);
      if (length < 0 || length > MAX_BLOCK_BYTES) throw new CorruptEventLogError(`snappy block ${blocks + 1} has an invalid length ${length}.`);
      if (queue.length < 4 + length) return;
      queue.take(4);
      const block = queue.take(length)!;
      blocks++;
      try {
        yield Buffer.from(uncompress(block));
      } catch (err) {
        throw new CorruptEventLogError(`snappy block ${blocks} does not decompress: ${(err as Error).message}.`);
      }
    }
  };
  for await (const chunk of source) {
    queue.push(chunk);
    yield* next();
  }
  yield* next();
  if (queue.length > 0) throw new CorruptEventLogError(`snappy stream ends inside a block (${queue.length} bytes left after block ${blocks}).`);
}
