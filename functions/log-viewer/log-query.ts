import { InvalidInputError } from '../../shared/errors.js';

/** Most lines `?tail=` returns: the last lines are held in memory until the log ends. */
export const MAX_TAIL_LINES = 100_000;

/** What the query string asks for. */
export type LogQuery =
  | { kind: 'text' }
  | { kind: 'tail'; lines: number }
  | { kind: 'range'; start: number; end?: number }
  | { kind: 'download' };

/**
 * Reads `?tail=N`, `?download=1`, `?start=&end=` (a byte range of the decompressed text,
 * both ends inclusive as in HTTP ranges). One of them at most; anything malformed is a 400.
 * @example parseLogQuery({ tail: '100' }) // { kind: 'tail', lines: 100 }
 */
export function parseLogQuery(query: Record<string, string>): LogQuery {
  const modes = [
    query.tail !== undefined ? '?tail=' : undefined,
    query.download !== undefined ? '?download=' : undefined,
    query.start !== undefined || query.end !== undefined ? '?start=&end=' : undefined,
  ].filter((m) => m !== undefined);
  if (modes.length > 1) throw new InvalidInputError(`Use one of ?tail=, ?download=1 or ?start=&end=, not ${modes.join(' and ')}.`, 'invalid-query');
  if (query.tail !== undefined) {
    const lines = wholeNumber(query.tail, 'tail');
    if (lines < 1 || lines > MAX_TAIL_LINES) throw new InvalidInputError(`?tail= must be from 1 to ${MAX_TAIL_LINES} lines.`, 'invalid-query');
    return { kind: 'tail', lines };
  }
  if (query.download !== undefined) {
    if (!['1', 'true', ''].includes(query.download)) throw new InvalidInputError('?download= must be 1.', 'invalid-query');
    return { kind: 'download' };
  }
  if (query.start !== undefined || query.end !== undefined) {
    const start = query.start === undefined || query.start === '' ? 0 : wholeNumber(query.start, 'start');
    if (query.end === undefined || query.end === '') return { kind: 'range', start };
    const end = wholeNumber(query.end, 'end');
    if (end < start) throw new InvalidInputError(`?end= (${end}) must not be before ?start= (${start}).`, 'invalid-query');
    return { kind: 'range', start, end };
  }
  return { kind: 'text' };
}

function wholeNumber(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new InvalidInputError(`?${name}= must be a whole number, not ${JSON.stringify(text.slice(0, 40))}.`, 'invalid-query');
  return n;
}
