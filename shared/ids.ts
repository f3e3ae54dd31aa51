import { InvalidInputError } from './errors.js';

/**
 * Longest id accepted as one key segment: Kubernetes object names are DNS subdomains of at
 * most 253 characters, and every id we put in a key (app, executor, namespace, submission)
 * is one of those or shorter.
 */
export const MAX_SEGMENT_LENGTH = 253;

// Control characters (C0, DEL, C1) and the path separators an object store or a URL would interpret.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f/\\]/;

/** Why `id` is not a safe object-key / URL segment, or undefined when it is. */
export function keySegmentProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'is not a string';
  if (id.length === 0) return 'is empty';
  if (id.length > MAX_SEGMENT_LENGTH) return `is longer than ${MAX_SEGMENT_LENGTH} characters`;
  if (id === '.' || id === '..') return 'is a relative path segment';
  if (id.includes('..')) return "contains '..'";
  if (UNSAFE.test(id)) return 'contains a slash, a backslash or a control character';
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
