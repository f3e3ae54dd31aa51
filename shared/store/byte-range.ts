import { InvalidInputError } from '../errors.js';
import type { ByteRange } from './object-store.js';

/**
 * Returns `range` when both ends are whole numbers with `0 <= start <= end`; throws
 * InvalidInputError otherwise. Whether the range fits the object is the store's question.
 * @example assertByteRange({ start: 0, end: 99 }) // the first 100 bytes
 */
export function assertByteRange(range: ByteRange): ByteRange {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new InvalidInputError(`The range start ${String(start)} must be a whole number of bytes, 0 or more.`, 'invalid-range');
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new InvalidInputError(`The range end ${String(end)} must be a whole number of bytes, at least the start ${start}.`, 'invalid-range');
  }
  return range;
}

/** The HTTP `Range` header value for `range` (both ends inclusive). */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end ?? ''}`;
}
