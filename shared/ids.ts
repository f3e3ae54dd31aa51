import { InvalidInputError } from './errors.js';
import { MAX_SEGMENT_BYTES } from './store/object-key.js';

/**
 * Bytes a key segment may carry after an id: `.json`, `.log.gz` and the like. Every id we put in
 * a key (app, executor, namespace, submission, pod) ends a file name with at most this much
 * after it, and the whole name must fit the filesystem store's limit.
 */
export const KEY_SUFFIX_ROOM_BYTES = 15;

/**
 * Longest id accepted as one key segment, in UTF-8 bytes: the filesystem store's name limit
 * ({@link MAX_SEGMENT_BYTES}, 255 on ext4, XFS, btrfs, APFS) less {@link KEY_SUFFIX_ROOM_BYTES}.
 * Kubernetes names may be 253 characters, but the ids Spark makes (spark-<32 hex>, pod names cut
 * to 63 for their hostname) are far shorter; an id past this could be stored on S3 but not on a
 * `file://` store, and both stores must accept the same keys.
 */
export const MAX_ID_BYTES = MAX_SEGMENT_BYTES - KEY_SUFFIX_ROOM_BYTES;

// Control characters (C0, DEL, C1) and the path separators an object store or a URL would interpret.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f/\\]/;
// With the u flag this matches only unpaired surrogates, which UTF-8 cannot carry.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Why `id` is not a safe object-key / URL segment, or undefined when it is. `maxBytes` is for a
 * segment that never gets a suffix and has a longer limit of its own (a Kafka topic: 249).
 */
export function keySegmentProblem(id: unknown, maxBytes: number = MAX_ID_BYTES): string | undefined {
  if (typeof id !== 'string') return 'is not a string';
  if (id.length === 0) return 'is empty';
  // Bytes, not characters: a 240-character id of CJK text is 720 bytes, which no file name holds.
  if (id.length > maxBytes || Buffer.byteLength(id, 'utf8') > maxBytes) {
    return `is ${Buffer.byteLength(id, 'utf8')} bytes long (UTF-8); ids in object keys stop at ${maxBytes} bytes so that a file name with its suffix fits the filesystem store's ${MAX_SEGMENT_BYTES}`;
  }
  if (id === '.' || id === '..') return 'is a relative path segment';
  if (id.includes('..')) return "contains '..'";
  if (UNSAFE.test(id)) return 'contains a slash, a backslash or a control character';
  if (LONE_SURROGATE.test(id)) return 'is not valid Unicode (lone surrogate)';
  return undefined;
}

/** True when `id` can be used as one object-key or URL segment as it is. */
export function isSafeKeySegment(id: unknown): id is string {
  return keySegmentProblem(id) === undefined;
}

/**
 * Returns `id` when it is a safe key segment; throws InvalidInputError naming `what` otherwise.
 * @example assertKeySegment(appId, 'app id') // 'spark-1a2b3c'
 */
export function assertKeySegment(id: unknown, what: string): string {
  const problem = keySegmentProblem(id);
  if (problem) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : String(id);
    throw new InvalidInputError(`The ${what} ${shown} ${problem}; it cannot be used in an object key.`, 'unsafe-id');
  }
  return id as string;
}
