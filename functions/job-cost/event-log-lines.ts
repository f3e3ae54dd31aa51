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
  /**
   * Newest time (ms) any event in the last {@link TAIL_BYTES} of a read carries, skipped events
   * included (task launch and finish, stage and job completion, SQL execution): where a log cut
   * off before ApplicationEnd shows its app still working.
   */
  tailTime?: number;
}

/**
 * Bytes at the end of each read searched for times. A log is written in time order, so its
 * newest times are in its last lines; 1 MiB holds hundreds of task events and the longest SQL
 * plan lines seen in real logs, and is searched once per read.
 */
export const TAIL_BYTES = 1024 * 1024;

/** Epoch-millisecond fields of Spark's JsonProtocol (SparkListener events, TaskInfo, StageInfo, SQL executions). */
const TIME_FIELD = /"(?:Timestamp|Submission Time|Completion Time|Launch Time|Finish Time|Getting Result Time|time)":(\d{12,})/g;

/** The newest epoch-ms time in `text`'s time fields; 0 and other small values (unset times) are not times. */
export function newestTimeIn(text: string): number | undefined {
  let newest: number | undefined;
  for (const match of text.matchAll(TIME_FIELD)) {
    const t = Number(match[1]);
    if (Number.isSafeInteger(t) && (newest === undefined || t > newest)) newest = t;
  }
  return newest;
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
  // The last chunks, at least TAIL_BYTES of them when the read is that long (decoders hand out fresh buffers).
  const tail: Buffer[] = [];
  let tailBytes = 0;
  // The last line had no newline and was skipped unparsed: whether it is whole is checked on the tail.
  let unterminatedSkipped = false;

  const handle = (buf: Buffer, start: number, end: number, last: boolean) => {
    stats.lines++;
    if (end > start && buf[end - 1] === CR) end--;
    const type = end > start ? wantedEventOf(buf, start, end) : undefined;
    if (!type) {
      stats.skipped++;
      if (last) unterminatedSkipped = true;
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

  try {
    for await (const chunk of source) {
      stats.bytes += chunk.length;
      tail.push(chunk);
      tailBytes += chunk.length;
      while (tail.length > 1 && tailBytes - tail[0]!.length >= TAIL_BYTES) tailBytes -= tail.shift()!.length;
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
        unterminatedSkipped = true;
      } else {
        const line = Buffer.concat(carry);
        handle(line, 0, line.length, true);
      }
    }
  } finally {
    const all = tail.length === 1 ? tail[0]! : Buffer.concat(tail, tailBytes);
    const newest = newestTimeIn(all.toString('latin1', Math.max(0, all.length - TAIL_BYTES)));
    if (newest !== undefined && (stats.tailTime === undefined || newest > stats.tailTime)) stats.tailTime = newest;
    if (unterminatedSkipped && !isWholeEvent(all, carryBytes)) stats.truncatedLastLine = true;
  }
  return stats;
}

/**
 * Whether the last `length` bytes of `tail`, a line without a newline after it, are a whole JSON
 * event: Spark ends every event with a newline, so a log that stops without one was usually cut
 * mid-line. A line longer than the tail is judged by its last byte.
 */
function isWholeEvent(tail: Buffer, length: number): boolean {
  const line = tail.subarray(Math.max(0, tail.length - length));
  if (line.toString('latin1').trim() === '') return true;
  if (length > tail.length) return tail[tail.length - 1] === 0x7d;
  try {
    JSON.parse(line.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}
