import { stripAnsi } from './html/escape.js';
import type { SearchQuery } from './search-query.js';

/** How long one search may run before it stops and says so: a regex cannot be interrupted mid-line, so time is checked between lines. */
export const SEARCH_TIME_BUDGET_MS = 5_000;
/** Lines between two looks at the clock. */
const TIME_CHECK_EVERY_LINES = 256;
/** Longest line a search result carries; the rest is cut (the log page has the whole line). */
const MAX_RESULT_LINE_CHARS = 8192;

/** One line of a search result: its number in the log (from 1) and whether it matched. */
export interface SearchLine {
  n: number;
  text: string;
  match: boolean;
}

export interface SearchResult {
  pattern: string;
  regex: boolean;
  ignoreCase: boolean;
  context: number;
  /** Runs of consecutive lines: each match with its context, overlapping runs joined. */
  hunks: SearchLine[][];
  matches: number;
  linesSearched: number;
  /** Why the search stopped before the end of the log, if it did. */
  truncated: false | 'max-matches' | 'time-budget';
}

/**
 * Searches a log's text line by line (ANSI escapes ignored) and returns every matching line with
 * `context` lines either side and line numbers, like `grep -n -C`. Stops at `maxMatches` (after
 * the last match's context) or when the time budget is spent, and says which.
 */
export async function searchLog(source: AsyncIterable<Buffer>, query: SearchQuery, options: { now?: () => number; budgetMs?: number } = {}): Promise<SearchResult> {
  const now = options.now ?? (() => performance.now());
  const deadline = now() + (options.budgetMs ?? SEARCH_TIME_BUDGET_MS);
  const hunks: SearchLine[][] = [];
  const before: SearchLine[] = [];
  let current: SearchLine[] | undefined;
  let afterLeft = 0;
  let matches = 0;
  let n = 0;
  let truncated: SearchResult['truncated'] = false;

  const onLine = (raw: string): boolean => {
    n++;
    const text = stripAnsi(raw);
    const line: SearchLine = { n, text: text.length > MAX_RESULT_LINE_CHARS ? `${text.slice(0, MAX_RESULT_LINE_CHARS)}…` : text, match: false };
    if (matches < query.maxMatches && query.test(text)) {
      line.match = true;
      matches++;
      if (!current) {
        current = [...before];
        hunks.push(current);
      }
      before.length = 0;
      current.push(line);
      afterLeft = query.context;
    } else if (current && afterLeft > 0) {
      current.push(line);
      afterLeft--;
    } else {
      current = undefined;
      if (matches >= query.maxMatches) {
        truncated = 'max-matches';
        return false;
      }
      if (query.context > 0) {
        before.push(line);
        if (before.length > query.context) before.shift();
      }
    }
    return true;
  };

  let partial = '';
  const decoder = new TextDecoder('utf-8');
  outer: for await (const piece of source) {
    const text = partial + decoder.decode(piece, { stream: true });
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      if (!onLine(text.slice(from, nl))) break outer;
      from = nl + 1;
      if (n % TIME_CHECK_EVERY_LINES === 0 && now() > deadline) {
        truncated = 'time-budget';
        break outer;
      }
    }
    partial = text.slice(from);
    if (now() > deadline) {
      truncated = 'time-budget';
      break;
    }
  }
  if (!truncated && partial !== '') onLine(partial);
  return { pattern: query.pattern, regex: query.regex, ignoreCase: query.ignoreCase, context: query.context, hunks, matches, linesSearched: n, truncated };
}

/** A search result as grep prints it: `12:match`, `11-context`, `--` between runs, a last line when it stopped early. */
export function searchResultText(result: SearchResult): string {
  const out = result.hunks.map((hunk) => hunk.map((l) => `${l.n}${l.match ? ':' : '-'}${l.text}\n`).join('')).join('--\n');
  return result.truncated ? `${out}-- stopped early (${result.truncated}) after ${result.linesSearched} lines --\n` : out;
}
