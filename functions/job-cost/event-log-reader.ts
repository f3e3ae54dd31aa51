import { errorMessage, NotFoundError } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { decode } from './codecs.js';
import { findEventLogs, type EventLogLocation } from './event-log-files.js';
import { emptyLineStats, type LineStats, readEventLines } from './event-log-lines.js';
import { EventLogSummary } from './event-log-summary.js';

/** An app's event log, read: what it says, how reading went, and what could not be read. */
export interface EventLogRead {
  location: EventLogLocation;
  summary: EventLogSummary;
  stats: LineStats;
  /** One sentence per part that failed (corrupt, vanished); the other parts are still read. */
  errors: string[];
  inProgress: boolean;
  /** The attempt this log is of, when its file names carry one (`<appId>_<attempt>`). */
  attemptId?: string;
  /**
   * Every attempt's log, oldest first, when the app has attempt-named logs (YARN cluster mode,
   * `spark.app.attempt.id`): each attempt ran and is costed. This object is the last of them.
   */
  attempts?: EventLogRead[];
}

/**
 * Reads an app's event log from the store as a stream, part after part, keeping only what cost
 * needs. Undefined when there is no log. A part that fails to decode is reported in `errors`
 * with what was read before the failure kept. When the log is named by attempt, every attempt
 * is read: the result is the last one, with all of them in `attempts`.
 * @example const log = await readEventLog(store, 'spark-events/', 'spark-1a2b');
 */
export async function readEventLog(store: ObjectStore, prefix: string, appId: string): Promise<EventLogRead | undefined> {
  const locations = await findEventLogs(store, prefix, appId);
  const reads: EventLogRead[] = [];
  for (const location of locations) reads.push(await readEventLogParts(store, location));
  const last = reads.at(-1);
  if (!last || (reads.length === 1 && last.attemptId === undefined)) return last;
  return { ...last, attempts: reads };
}

/** Reads the parts of a located log (the bench and tests call this on a known location). */
export async function readEventLogParts(store: ObjectStore, location: EventLogLocation): Promise<EventLogRead> {
  const summary = new EventLogSummary();
  const stats = emptyLineStats();
  const errors: string[] = [];
  for (const part of location.parts) {
    try {
      const stream = await store.get(part.key);
      await readEventLines(decode(stream, part.codec), (type, event) => summary.apply(type, event), stats);
      if (stats.tailTime !== undefined) summary.sawTime(stats.tailTime);
    } catch (err) {
      const what = err instanceof NotFoundError ? 'vanished while being read' : `could not be read: ${errorMessage(err)}`;
      errors.push(`Event log ${part.key} (${part.codec}) ${what.replace(/\.$/, '')}.`);
    }
  }
  if (stats.malformed > 0) summary.anomalies.add(stats.truncatedLastLine && stats.malformed === 1 ? 'truncated-last-line' : 'malformed-lines');
  if (stats.truncatedLastLine) summary.anomalies.add('truncated-last-line');
  return { location, summary, stats, errors, inProgress: location.parts.some((p) => p.inProgress), ...(location.attemptId !== undefined ? { attemptId: location.attemptId } : {}) };
}
