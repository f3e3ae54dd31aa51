import type { ObjectStore } from '../../shared/store/object-store.js';
import { type IndexedLog, StaleIndexError, openIndexedLog, textFromUnit, windowOrigin } from './indexed-log.js';
import { type LogSources, logText } from './log-sources.js';

/** What the log page shows by default: the last this many bytes of text. */
export const DEFAULT_WINDOW_BYTES = 64 * 1024;
/** Most bytes one log page shows (`?start=&end=` wider than this is cut to its last part). */
export const MAX_WINDOW_BYTES = 1024 * 1024;

/** Lines of a byte window of a log, numbered from 1 at the start of the log. */
export interface LogWindow {
  /** First and last byte of text shown (inclusive), after snapping to whole lines. */
  start: number;
  end: number;
  /** Total bytes of text in the log. */
  size: number;
  /** Number of the first line shown. */
  firstLine: number;
  lines: string[];
}

/** Where a text source starts in the log: its byte offset and the newlines before it. */
export interface TextOrigin {
  at: number;
  newlinesBefore: number;
}

/**
 * The whole lines within bytes `start`..`end` of a log's text (a line cut by `start` is left to
 * the page before; a line cut by `end` is completed), with the number of the first one, counted
 * while the bytes before `start` stream past. `end` is clamped to the log. `source` is the text
 * from `origin` on (the log's start by default), which must be at or before `start - 1` when
 * `start` is past 0, so that the byte before `start` is seen.
 */
export async function readWindow(source: AsyncIterable<Buffer>, start: number, end: number, origin: TextOrigin = { at: 0, newlinesBefore: 0 }): Promise<Omit<LogWindow, 'size'>> {
  let at = origin.at;
  let newlinesBefore = origin.newlinesBefore;
  // Whether the byte before `start` ends a line (or start is 0): then the line at start is whole.
  let lineStartsAtStart = start === 0;
  const kept: Buffer[] = [];
  for await (const whole of source) {
    let piece = whole;
    let pieceStart = at;
    at += piece.length;
    if (pieceStart < start) {
      const upto = Math.min(piece.length, start - pieceStart);
      for (let i = piece.indexOf(0x0a); i !== -1 && i < upto; i = piece.indexOf(0x0a, i + 1)) newlinesBefore++;
      if (start - 1 < at) lineStartsAtStart = piece[start - 1 - pieceStart] === 0x0a;
      if (upto === piece.length) continue;
      piece = piece.subarray(upto);
      pieceStart = start;
    }
    if (pieceStart + piece.length - 1 <= end) {
      kept.push(piece);
      continue;
    }
    // Crosses `end`: keep on to the end of the line being shown.
    const nl = piece.indexOf(0x0a, Math.max(0, end - pieceStart));
    if (nl === -1) {
      kept.push(piece);
      continue;
    }
    kept.push(piece.subarray(0, nl + 1));
    break;
  }
  let text = Buffer.concat(kept);
  let shownStart = start;
  let firstLine = newlinesBefore + 1;
  const cut = text.indexOf(0x0a);
  // A window inside one long line shows that part of it rather than nothing.
  if (!lineStartsAtStart && cut !== -1) {
    const skip = cut + 1;
    text = text.subarray(skip);
    shownStart += skip;
    firstLine++;
  }
  const str = text.toString('utf8');
  const lines = str === '' ? [] : str.replace(/\n$/, '').split('\n');
  return { start: shownStart, end: shownStart + text.length - 1, firstLine, lines };
}

/**
 * readWindow over a stored log: through the compacted object's index when it can serve, reading
 * only the members from the one before `start` to the one that completes the line at `end`, the
 * line numbers summed from the index's newline counts; else (no fresh index, overlapping chunks,
 * an index found stale while reading) the text from the log's start. Both give the same window.
 * `opened`: the log as a caller already opened it through its index (`undefined` inside: no usable
 * index), so that it is not opened twice.
 */
export async function readLogWindow(store: ObjectStore, sources: LogSources, start: number, end: number, signal?: AbortSignal, opened?: { indexed?: IndexedLog | undefined }): Promise<Omit<LogWindow, 'size'>> {
  const log = opened ? opened.indexed : await openIndexedLog(store, sources);
  if (log) {
    try {
      const origin = await windowOrigin(log, start);
      return await readWindow(textFromUnit(store, log, origin.from, end, signal), start, end, origin);
    } catch (err) {
      if (!(err instanceof StaleIndexError)) throw err;
    }
  }
  return readWindow(logText(store, sources, signal), start, end);
}
