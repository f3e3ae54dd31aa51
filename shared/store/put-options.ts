import { InvalidInputError } from '../errors.js';
import type { PutOptions } from './object-store.js';

/** S3's limit on user metadata, keys and values together, in bytes (OSS allows 8 KiB). */
export const MAX_METADATA_BYTES = 2048;

// Lower-case so that S3 (which lower-cases x-amz-meta-* names) hands back what was stored.
const METADATA_NAME = /^[a-z0-9][a-z0-9._-]*$/;
// Printable ASCII without edge spaces: S3 RFC 2047-encodes anything else and HTTP trims edge spaces,
// so such a value would not come back as it was written.
const HEADER_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;

/**
 * Returns `options` when every store can keep them exactly: header-safe content type and
 * encoding, lower-case metadata names, printable-ASCII values, at most
 * {@link MAX_METADATA_BYTES} of metadata. Throws InvalidInputError otherwise.
 * @example assertPutOptions({ contentEncoding: 'gzip', metadata: { 'app-id': 'spark-1' } })
 */
export function assertPutOptions(options: PutOptions | undefined): PutOptions | undefined {
  if (options === undefined) return undefined;
  for (const field of ['contentType', 'contentEncoding'] as const) {
    const value = options[field];
    if (value !== undefined && (value === '' || !HEADER_VALUE.test(value))) {
      throw new InvalidInputError(`The ${field} ${JSON.stringify(value)} must be non-empty printable ASCII without edge spaces.`, 'invalid-put-options');
    }
  }
  if (options.ifNoneMatch !== undefined && options.ifNoneMatch !== '*') {
    throw new InvalidInputError(`ifNoneMatch must be '*' (create only) when given, not ${JSON.stringify(options.ifNoneMatch)}.`, 'invalid-put-options');
  }
  let bytes = 0;
  for (const [name, value] of Object.entries(options.metadata ?? {})) {
    if (!METADATA_NAME.test(name)) {
      throw new InvalidInputError(`The metadata name ${JSON.stringify(name)} must be lower-case letters, digits, '.', '_' or '-'.`, 'invalid-put-options');
    }
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      throw new InvalidInputError(`The metadata value of ${JSON.stringify(name)} must be printable ASCII without edge spaces.`, 'invalid-put-options');
    }
    bytes += name.length + value.length;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new InvalidInputError(`The metadata takes ${bytes} bytes; stores accept at most ${MAX_METADATA_BYTES}.`, 'invalid-put-options');
  }
  return options;
}

/** copy and compose have no create-only form: InvalidInputError when asked for one. */
export function assertNotCreateOnly(options: PutOptions | undefined, operation: 'copy' | 'compose'): void {
  if (options?.ifNoneMatch !== undefined) {
    throw new InvalidInputError(`ifNoneMatch applies to put only; ${operation} always replaces the target.`, 'invalid-put-options');
  }
}
