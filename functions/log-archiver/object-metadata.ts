/** S3 user metadata names log-archiver writes on log objects (lower case: S3 lower-cases them anyway). */
export const META = {
  appType: 'app-type',
  namespace: 'namespace',
  podName: 'pod-name',
  appName: 'app-name',
  lineCount: 'line-count',
  textBytes: 'text-bytes',
  firstEventTime: 'first-event-time',
  lastEventTime: 'last-event-time',
  /** On compacted objects: the offsets they cover, `<topic>:<partition>:<first>-<last>` joined by `,`. */
  offsetRanges: 'offset-ranges',
} as const;

/** Longest metadata value we write: S3 allows 2 KiB for all of them together. */
const MAX_VALUE_LENGTH = 256;
const PRINTABLE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * A value every store keeps as written: printable ASCII stays, anything else is
 * percent-encoded (S3 would RFC 2047-encode it and hand back something else).
 * @example metadataValue('spark-jobs') // 'spark-jobs'
 */
export function metadataValue(value: string): string {
  const shown = PRINTABLE.test(value) ? value : encodeURIComponent(value);
  return shown.slice(0, MAX_VALUE_LENGTH);
}

/** Event times as stored: ISO 8601, or nothing when unknown (0). */
export function isoTime(ms: number): string | undefined {
  return ms > 0 && Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** The offset ranges of a compacted object as metadata, or undefined when they do not fit. */
export function formatOffsetRanges(ranges: readonly OffsetRange[]): string | undefined {
  const text = ranges.map((r) => `${r.topic}:${r.partition}:${r.first}-${r.last}`).join(',');
  return text.length > 0 && text.length <= 1024 ? text : undefined;
}

/** One topic-partition's lowest and highest offset in an object. */
export interface OffsetRange {
  topic: string;
  partition: number;
  first: number;
  last: number;
}

/** Parses `offset-ranges`; undefined when absent or unreadable (the caller then reads the object). */
export function parseOffsetRanges(text: string | undefined): OffsetRange[] | undefined {
  if (!text) return undefined;
  const ranges: OffsetRange[] = [];
  for (const part of text.split(',')) {
    const m = /^(.+):(\d+):(\d+)-(\d+)$/.exec(part);
    if (!m) return undefined;
    ranges.push({ topic: m[1] as string, partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]) });
  }
  return ranges;
}

/** `topic\0partition`: the key of per-partition maps. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
