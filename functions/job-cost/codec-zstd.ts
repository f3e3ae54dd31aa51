import { Decompress } from 'fzstd';
import { CorruptEventLogError } from './corrupt-event-log.js';

/**
 * Compressed bytes handed to the decoder at a time. fzstd decodes every whole block of what it is
 * given before returning; a generated event log compresses over 300×, so one 64 KiB read from
 * the store came back as some 20 MB at once. Small pieces keep what is decoded but not yet read small.
 */
const PUSH_BYTES = 8 * 1024;

/**
 * Decodes zstd frames (Spark 3's default event-log codec; zstd-jni's ZstdOutputStream writes
 * standard frames) with fzstd's streaming decoder. Frames may be concatenated.
 */
export async function* decodeZstd(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  const decoder = new Decompress((data) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  const drain = () => {
    const ready = out;
    out = [];
    return ready;
  };
  let sawInput = false;
  try {
    for await (const chunk of source) {
      if (chunk.length === 0) continue;
      sawInput = true;
      for (let at = 0; at < chunk.length; at += PUSH_BYTES) {
        decoder.push(chunk.subarray(at, at + PUSH_BYTES));
        yield* drain();
      }
    }
    if (sawInput) decoder.push(new Uint8Array(0), true);
  } catch (err) {
    if (err instanceof CorruptEventLogError) throw err;
    throw new CorruptEventLogError(`zstd stream does not decode: ${(err as Error).message}.`);
  }
  yield* drain();
}
