import kafkajs, { CompressionTypes } from 'kafkajs';
import createSnappyCodec from 'kafkajs-snappy';
import { compressFrame, decompressFrame } from 'lz4-napi';

// Node's CommonJS export detection does not see `CompressionCodecs` as a named export of kafkajs.
const { CompressionCodecs } = kafkajs;

/** The codec shape kafkajs looks up in `CompressionCodecs` (see kafkajs' own gzip codec). */
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/**
 * LZ4 for kafkajs over lz4-napi. Since KIP-57 (message format v1, Kafka 0.10) Kafka's LZ4 payload
 * is the standard LZ4 frame format, which is what lz4-napi's frame API reads and writes (kafkajs
 * produces v2 record batches). The async variants run on libuv's thread pool, off the event loop.
 */
const lz4Codec: KafkajsCodec = {
  compress: (encoder) => compressFrame(encoder.buffer),
  decompress: (buffer) => decompressFrame(buffer),
};
const createLz4Codec = (): KafkajsCodec => lz4Codec;

/**
 * Teaches kafkajs snappy (kafkajs-snappy, which reads both raw snappy and the xerial framing the
 * Java client writes) and LZ4 (lz4-napi), on top of its built-in gzip. kafkajs keeps codecs in one process-wide
 * table, so this is idempotent and every client we create calls it.
 *
 * @example
 * registerCompressionCodecs();
 * await producer.send({ topic, compression: CompressionTypes.LZ4, messages });
 */
export function registerCompressionCodecs(): void {
  const codecs = CompressionCodecs as Record<number, () => KafkajsCodec>;
  codecs[CompressionTypes.Snappy] = createSnappyCodec;
  codecs[CompressionTypes.LZ4] = createLz4Codec;
}

/** Compression names accepted in our options, mapped to kafkajs' codes. ZSTD is left out: no codec is installed for it. */
export const COMPRESSION = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
} as const;

export type CompressionName = keyof typeof COMPRESSION;
