import type { z } from 'zod';
import { InvalidInputError } from '../errors.js';

/** Longest list of schema problems quoted in one error message; the rest are counted. */
const MAX_ISSUES_IN_MESSAGE = 5;

/**
 * Parses `value` with `schema`; on failure throws InvalidInputError naming the shape and the
 * first problems by path, because the payload was recognised but is malformed.
 */
export function parseShape<S extends z.ZodType>(schema: S, value: unknown, shape: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const listed = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  const more = issues.length > MAX_ISSUES_IN_MESSAGE ? ` and ${issues.length - MAX_ISSUES_IN_MESSAGE} more` : '';
  throw new InvalidInputError(`The payload looks like ${shape} but does not match it: ${listed.join('; ')}${more}.`, 'malformed-trigger');
}
