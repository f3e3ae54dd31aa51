import { DECIDING_BYTES, type WantedEvent, wantedEventOf } from './line-filter.js';

/** What reading one event log's lines saw. */
export interface LineStats {
  bytes: number;
  lines: number;
  /** Lines of a wanted type, JSON-parsed. */
  parsed: number;
  /** Lines skipped by the byte filter, never decoded. */
  skipped: number;
  /** Wanted lines that are not valid JSON (a writer cut off mid-line, a damaged file). */
  malformed: number;
  /** The last line had no newline and did not parse: the log was cut off while being written. */
  truncatedLastLine: boolean;
}

export function emptyLineStats(): LineStats {
  return { bytes: 0, lines: 0, parsed: 0, skipped: 0, malformed: 0, truncatedLastLine: false };
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits decompressed event-log bytes into lines and hands each wanted event, parsed, to
 * `onEvent`. Newlines are found with Buffer#indexOf (native), a line's kind is decided on its
 * first bytes, and only wanted lines are decoded; a skipped line that spans chunks is never
 * assembled, so memory stays bounded by the chunk size and the longest wanted line.
 */
export async function readEventLines(
  source: AsyncIterable<Buffer>,
  onEvent: (type: WantedEvent, event: Record<string, unknown>) => void,
  stats: LineStats = emptyLineStats(),
): Promise<LineStats> {
  // A line started in an earlier chunk: its pieces, unless it is already known to be skipped.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let carrySkipped = false;

  const handle = (buf: Buffer, start: number, end: number, last: boolean) => {
    stats.lines++;
    if (end > start && buf[end - 1] === CR) end--;
    const type = end > start ? wantedEventOf(buf, start, end) : undefined;
    if (!type) {
      stats.skipped++;
      return;
    }
    let event: unknown;
    try {
      event = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      stats.malformed++;
      if (last) stats.truncatedLastLine = true;
      return;
    }
    stats.parsed++;
    if (event !== null && typeof event === 'object') onEvent(type, event as Record<string, unknown>);
  };

  const decideCarry = () => {
    if (carrySkipped || carryBytes < DECIDING_BYTES) return;
    const head = carry.length === 1 ? carry[0]! : Buffer.concat(carry, carryBytes);
    if (!wantedEventOf(head, 0, head.length)) {
      carrySkipped = true;
      carry = [];
    } else if (carry.length > 1) carry = [head];
  };

  for await (const chunk of source) {
    stats.bytes += chunk.length;
    let pos = 0;
    if (carryBytes > 0) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        carryBytes += chunk.length;
        if (!carrySkipped) carry.push(chunk);
        decideCarry();
        continue;
      }
      if (carrySkipped) {
        stats.lines++;
        stats.skipped++;
      } else {
        carry.push(chunk.subarray(0, nl));
        const line = Buffer.concat(carry);
        handle(line, 0, line.length, false);
      }
      carry = [];
      carryBytes = 0;
      carrySkipped = false;
      pos = nl + 1;
    }
    for (let nl = chunk.indexOf(NEWLINE, pos); nl >= 0; nl = chunk.indexOf(NEWLINE, pos)) {
      handle(chunk, pos, nl, false);
      pos = nl + 1;
    }
    if (pos < chunk.length) {
      carry = [chunk.subarray(pos)];
      carryBytes = chunk.length - pos;
      decideCarry();
    }
  }
  if (carryBytes > 0) {
    if (carrySkipped) {
      stats.lines++;
      stats.skipped++;
    } else {
      const line = Buffer.concat(carry);
      handle(line, 0, line.length, true);
    }
  }
  return stats;
}
