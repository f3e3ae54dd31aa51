import { InvalidInputError } from '../errors.js';

/** S3's limit on a whole key, in UTF-8 bytes (OSS allows 1023; the prefix counts too). */
export const MAX_KEY_BYTES = 1024;
/**
 * Longest segment of a key, in UTF-8 bytes: the filesystem store makes each segment a file or
 * folder name, and ext4, XFS, btrfs and APFS stop a name at 255 bytes (NAME_MAX). The store adds
 * no suffix to a segment (its metadata mirror uses the same names, temp files have short names of
 * their own), so this is the whole limit. S3 and OSS would take longer segments; both stores
 * check every key against both limits so that a key one accepts, the other accepts too.
 */
export const MAX_SEGMENT_BYTES = 255;

// C0 controls, DEL and C1 controls, plus the backslash that Windows paths and some proxies treat as a separator.
const UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\\]/;
// With the u flag this matches only unpaired surrogates, which UTF-8 cannot carry (they would come back as U+FFFD).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why `key` is not a safe object key, or undefined when it is. */
export function objectKeyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'is not a string';
  if (key.length === 0) return 'is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  if (UNSAFE_CHAR.test(key)) return 'contains a backslash or a control character';
  if (key.startsWith('/')) return 'is absolute (starts with /)';
  if (LONE_SURROGATE.test(key)) return 'is not valid Unicode (lone surrogate)';
  for (const segment of key.split('/')) {
    if (segment === '') return 'has an empty segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return `has a ${JSON.stringify(segment)} segment`;
    if (segment.length > MAX_SEGMENT_BYTES || Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      return `has a segment of ${Buffer.byteLength(segment, 'utf8')} bytes; a file name stops at ${MAX_SEGMENT_BYTES}`;
    }
  }
  return undefined;
}

/**
 * Returns `key` when it is a safe object key: relative, `/`-separated, no empty, `.` or `..`
 * segments, no backslash or control character, at most {@link MAX_KEY_BYTES} bytes of UTF-8 and
 * {@link MAX_SEGMENT_BYTES} per segment.
 * Throws InvalidInputError otherwise. Both stores check every key with it, so a key that one
 * store accepts the other accepts too, and no key can leave a `file://` directory.
 * @example assertObjectKey('logs/spark-1/exec-1/stdout.log.gz') // returned as is
 */
export function assertObjectKey(key: unknown, what = 'object key'): string {
  const problem = objectKeyProblem(key);
  if (problem) throw new InvalidInputError(`The ${what} ${show(key)} ${problem}.`, 'unsafe-key');
  return key as string;
}

/**
 * Returns `prefix` when it can start a safe key (`''`, `logs/`, `logs/spark-1/exec`), else throws
 * InvalidInputError. A prefix may end in `/` or in the middle of a segment.
 * @example assertKeyPrefix('logs/spark-1/') // 'logs/spark-1/'
 */
export function assertKeyPrefix(prefix: unknown): string {
  if (prefix === '') return prefix;
  // Every key that starts with a good prefix can be valid, and `prefix + 'x'` is the shortest of them.
  const problem = typeof prefix === 'string' ? objectKeyProblem(`${prefix}x`) : 'is not a string';
  if (problem) throw new InvalidInputError(`The key prefix ${show(prefix)} cannot start a valid key: it ${problem}.`, 'unsafe-key');
  return prefix as string;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
}
