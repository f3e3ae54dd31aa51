import { decodeLz4Block } from './codec-lz4-block.js';
import { decodeSnappyJava } from './codec-snappy-java.js';
import { decodeZstd } from './codec-zstd.js';
import { CorruptEventLogError } from './corrupt-event-log.js';

/** Spark's CompressionCodec short names, as they appear as event-log file extensions. */
export type EventLogCodec = 'none' | 'zstd' | 'lz4' | 'snappy' | 'lzf';

const EXTENSIONS: Record<string, EventLogCodec> = { zstd: 'zstd', zst: 'zstd', lz4: 'lz4', snappy: 'snappy', lzf: 'lzf' };

/** The key without `.inprogress`, and whether it had it. */
export function stripInProgress(key: string): { key: string; inProgress: boolean } {
  return key.endsWith('.inprogress') ? { key: key.slice(0, -'.inprogress'.length), inProgress: true } : { key, inProgress: false };
}

/**
 * The codec an event-log file name says (`<appId>.zstd`, `events_1_<appId>.lz4.inprogress`).
 * Spark app ids contain no dots (`spark-…`, `application_…`), so a last dot names a codec.
 * @example codecOf('spark-events/spark-1a2b.zstd.inprogress') // 'zstd'
 */
export function codecOf(key: string): EventLogCodec {
  const name = stripInProgress(key).key.split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  return dot < 0 ? 'none' : (EXTENSIONS[name.slice(dot + 1).toLowerCase()] ?? 'none');
}

/** The decompressed bytes of `source` written with `codec`. */
export function decode(source: AsyncIterable<Buffer>, codec: EventLogCodec): AsyncIterable<Buffer> {
  switch (codec) {
    case 'none':
      return source;
    case 'zstd':
      return decodeZstd(source);
    case 'lz4':
      return decodeLz4Block(source);
    case 'snappy':
      return decodeSnappyJava(source);
    case 'lzf':
      // Spark has not written lzf event logs by default since 1.x, and no kept JS decoder exists.
      return (async function* () {
        throw new CorruptEventLogError('lzf-compressed event logs are not supported; set spark.eventLog.compression.codec to zstd, lz4 or snappy.');
      })();
  }
}
