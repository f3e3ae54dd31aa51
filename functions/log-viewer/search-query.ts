import { InvalidInputError } from '../../shared/errors.js';

/** Longest search pattern: a pattern is typed by a person, and its cost grows with its length. */
export const MAX_PATTERN_LENGTH = 200;
/** Most lines of context either side of a match. */
export const MAX_CONTEXT_LINES = 10;
/** Default and most matching lines one search returns. */
export const DEFAULT_MAX_MATCHES = 500;
export const MAX_MATCHES = 5000;
/** Most quantifiers in a regex, and most unbounded ones (`*`, `+`, `{n,}`): `.*a.*b.*c` costs a power of the line length per unbounded quantifier. */
const MAX_QUANTIFIERS = 8;
const MAX_UNBOUNDED_QUANTIFIERS = 3;
/** A regex sees at most this many characters of a line, which bounds its polynomial cost. */
export const MAX_REGEX_LINE_CHARS = 4096;

/** A search over one log: `?grep=…&regex=1&context=2&ignoreCase=1&max=500`. */
export interface SearchQuery {
  pattern: string;
  regex: boolean;
  ignoreCase: boolean;
  context: number;
  maxMatches: number;
  /**
   * `&from=&to=` (ISO 8601 times, either may be left out): search only the archive's members whose
   * event times overlap this range (ms since the epoch, both ends inclusive), not the live part.
   */
  timeRange?: { from?: number; to?: number };
  /** The compiled matcher: a substring or a regex already checked for catastrophic backtracking. */
  test(line: string): boolean;
}

/**
 * Reads a search from the query string, or undefined when there is none (no `grep`). Refuses
 * with InvalidInputError (400): an empty or over-long pattern, a bad number, and any regex that
 * could backtrack catastrophically on a line (see `regexProblem`).
 * @example parseSearchQuery({ grep: 'ERROR|WARN', regex: '1', context: '2' })?.test('a WARN b') // true
 */
export function parseSearchQuery(query: Record<string, string>): SearchQuery | undefined {
  if (query.grep === undefined) return undefined;
  const other = ['tail', 'download', 'start', 'end', 'follow'].filter((k) => query[k] !== undefined);
  if (other.length > 0) throw new InvalidInputError(`?grep= searches the whole log; it cannot be combined with ?${other.join('=, ?')}=.`, 'invalid-query');
  const pattern = query.grep;
  if (pattern.length === 0) throw new InvalidInputError('?grep= must not be empty.', 'invalid-query');
  if (pattern.length > MAX_PATTERN_LENGTH) throw new InvalidInputError(`?grep= must be at most ${MAX_PATTERN_LENGTH} characters.`, 'invalid-query');
  const regex = flag(query.regex, 'regex');
  const ignoreCase = flag(query.ignoreCase, 'ignoreCase');
  const context = count(query.context, 'context', 0, MAX_CONTEXT_LINES, 0);
  const maxMatches = count(query.max, 'max', 1, MAX_MATCHES, DEFAULT_MAX_MATCHES);
  let test: (line: string) => boolean;
  if (regex) {
    const problem = regexProblem(pattern);
    if (problem) throw new InvalidInputError(`The regex ${JSON.stringify(pattern)} ${problem}; search for a plain substring, or simplify it.`, 'unsafe-regex');
    let compiled: RegExp;
    try {
      compiled = new RegExp(pattern, ignoreCase ? 'iu' : 'u');
    } catch (err) {
      throw new InvalidInputError(`?grep= is not a valid regular expression: ${(err as Error).message}.`, 'invalid-query');
    }
    test = (line) => compiled.test(line.length > MAX_REGEX_LINE_CHARS ? line.slice(0, MAX_REGEX_LINE_CHARS) : line);
  } else if (ignoreCase) {
    const lower = pattern.toLowerCase();
    test = (line) => line.toLowerCase().includes(lower);
  } else {
    test = (line) => line.includes(pattern);
  }
  const from = isoTime(query.from, 'from');
  const to = isoTime(query.to, 'to');
  if (from !== undefined && to !== undefined && from > to) throw new InvalidInputError(`?from= (${query.from}) must not be after ?to= (${query.to}).`, 'invalid-query');
  const timeRange = from === undefined && to === undefined ? undefined : { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
  return { pattern, regex, ignoreCase, context, maxMatches, test, ...(timeRange && { timeRange }) };
}

/** An ISO 8601 date-time with a zone (`2025-05-14T02:15:00Z`, `…T04:15:00.250+02:00`), as ms since the epoch. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function isoTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (!ISO_TIME.test(value) || !Number.isFinite(ms)) throw new InvalidInputError(`?${name}= must be an ISO 8601 time with a zone, such as 2025-05-14T02:15:00Z, not ${JSON.stringify(value.slice(0, 40))}.`, 'invalid-query');
  return ms;
}

/**
 * Why a regex could take exponential time on a line, or undefined when it cannot: JavaScript's
 * backtracking engine cannot be interrupted mid-match, so the pattern is kept to a shape whose
 * cost is polynomial. Refused: a quantified group that contains a quantifier or an alternation
 * (`(a+)+`, `(a|aa)*`, star height above one), backreferences, lookaround, more than
 * MAX_QUANTIFIERS quantifiers or more than MAX_UNBOUNDED_QUANTIFIERS unbounded ones.
 */
export function regexProblem(pattern: string): string | undefined {
  if (/\\[1-9]|\\k</.test(pattern)) return 'uses a backreference';
  if (/\(\?<?[=!]/.test(pattern)) return 'uses lookaround';
  // Groups on a stack: does each contain a quantifier or `|`? Escapes and classes are skipped.
  const groups: { risky: boolean }[] = [];
  let quantifiers = 0;
  let unbounded = 0;
  let lastClosedRisky = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    let closedRisky = false;
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
    } else if (c === '(') {
      groups.push({ risky: false });
    } else if (c === ')') {
      closedRisky = groups.pop()?.risky ?? false;
      const parent = groups[groups.length - 1];
      if (parent && closedRisky) parent.risky = true;
    } else if (c === '|') {
      const top = groups[groups.length - 1];
      if (top) top.risky = true;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      if (c === '{' && !/^\{\d+(,\d*)?\}/.test(pattern.slice(i))) continue;
      const prev = pattern[i - 1];
      // `*?`, `+?`: the lazy mark of the quantifier before, not a quantifier of its own.
      if (c === '?' && (prev === '*' || prev === '+' || prev === '?' || prev === '}' || prev === '(')) continue;
      quantifiers++;
      if (c !== '?' && !/^\{\d+(,\d+)?\}/.test(pattern.slice(i))) unbounded++;
      if (prev === ')' && lastClosedRisky) return 'repeats a group that itself repeats or alternates (catastrophic backtracking)';
      const top = groups[groups.length - 1];
      if (top) top.risky = true;
      if (c === '{') i = pattern.indexOf('}', i);
    }
    lastClosedRisky = c === ')' && closedRisky;
  }
  if (quantifiers > MAX_QUANTIFIERS) return `has more than ${MAX_QUANTIFIERS} quantifiers`;
  if (unbounded > MAX_UNBOUNDED_QUANTIFIERS) return `has more than ${MAX_UNBOUNDED_QUANTIFIERS} unbounded quantifiers (*, +, {n,})`;
  return undefined;
}

function flag(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true' || value === 'on') return true;
  throw new InvalidInputError(`?${name}= must be 1 or 0.`, 'invalid-query');
}

function count(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidInputError(`?${name}= must be a whole number from ${min} to ${max}.`, 'invalid-query');
  return n;
}
