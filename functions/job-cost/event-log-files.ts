import { listAll } from '../../shared/store/read.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { codecOf, type EventLogCodec, stripInProgress } from './codecs.js';

/** One file of an app's event log, in reading order. */
export interface EventLogPart {
  key: string;
  codec: EventLogCodec;
  inProgress: boolean;
  size: number;
}

/** Where one attempt of an app's event log lives: one file, or a rolling log's files in index order. */
export interface EventLogLocation {
  layout: 'single' | 'rolling';
  parts: EventLogPart[];
  /**
   * The attempt the file names say (`<appId>_<attempt>`): YARN cluster mode and
   * `spark.app.attempt.id` give each attempt its own log. Absent for a log named by app id alone.
   */
  attemptId?: string;
}

/** Rolling event logs (Spark 3, spark.eventLog.rolling.enabled): a directory of `events_<n>_<appId>` files. */
export const ROLLING_DIR_PREFIX = 'eventlog_v2_';

function part(key: string, size: number): EventLogPart {
  return { key, codec: codecOf(key), inProgress: stripInProgress(key).inProgress, size };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The keys {@link findEventLogs} looks at for an app, as one sentence fragment for error messages.
 * @example eventLogKeysLookedFor('spark-events/', 'spark-1a2b')
 * // 'spark-events/spark-1a2b[_<attempt>][.<codec>][.inprogress] and spark-events/eventlog_v2_spark-1a2b[_<attempt>]/events_<n>_spark-1a2b[_<attempt>][.<codec>][.inprogress]'
 */
export function eventLogKeysLookedFor(prefix: string, appId: string): string {
  const name = `${appId}[_<attempt>]`;
  return `${prefix}${name}[.<codec>][.inprogress] and ${prefix}${ROLLING_DIR_PREFIX}${name}/events_<n>_${name}[.<codec>][.inprogress]`;
}

/**
 * Finds every attempt of `<prefix><appId>` in the store, oldest attempt first. Spark names a log
 * after `<appId>` or, when the app has an attempt id, `<appId>_<attempt>`
 * (EventLogFileWriter.nameForAppAndAttempt); each attempt is a single file (`<name>`,
 * `<name>.zstd`, `<name>.lz4.inprogress`…; a finished file wins over an in-progress one) or a
 * rolling log (`eventlog_v2_<name>/events_<n>_<name>[.codec][.inprogress]`, by n, which wins over
 * a single file). Empty when there is none.
 */
export async function findEventLogs(store: ObjectStore, prefix: string, appId: string): Promise<EventLogLocation[]> {
  // `_<attempt>` after the app id: Spark sanitises the attempt id, so it holds no dot or slash.
  const named = new RegExp(`^${escapeRegExp(appId)}(?:_([^./]+))?(?:\\.[^./]+)?$`);
  const rolling = new Map<string, { index: number; part: EventLogPart }[]>();
  const rollingRoot = `${prefix}${ROLLING_DIR_PREFIX}`;
  for await (const object of listAll(store, `${rollingRoot}${appId}`)) {
    const [dir, name, ...deeper] = object.key.slice(rollingRoot.length).split('/');
    if (!dir || !name || deeper.length > 0) continue;
    const attempt = named.exec(dir);
    const file = /^events_(\d+)_(.+)$/.exec(stripInProgress(name).key);
    if (!attempt || dir.includes('.') || !file || !(file[2] === dir || file[2]!.startsWith(`${dir}.`))) continue;
    const id = attempt[1] ?? '';
    rolling.set(id, [...(rolling.get(id) ?? []), { index: Number(file[1]), part: part(object.key, object.size) }]);
  }

  const singles = new Map<string, EventLogPart[]>();
  for await (const object of listAll(store, `${prefix}${appId}`)) {
    const match = named.exec(stripInProgress(object.key.slice(prefix.length)).key);
    if (!match) continue;
    const id = match[1] ?? '';
    singles.set(id, [...(singles.get(id) ?? []), part(object.key, object.size)]);
  }

  const locations: EventLogLocation[] = [];
  for (const id of [...new Set([...rolling.keys(), ...singles.keys()])].sort(byAttempt)) {
    const attempt = id === '' ? {} : { attemptId: id };
    const parts = rolling.get(id);
    if (parts) {
      locations.push({ layout: 'rolling', parts: parts.sort((a, b) => a.index - b.index).map((r) => r.part), ...attempt });
      continue;
    }
    const files = singles.get(id)!;
    locations.push({ layout: 'single', parts: [files.find((p) => !p.inProgress) ?? files[0]!], ...attempt });
  }
  return locations;
}

/** No attempt first, then attempts by number (YARN counts 1, 2, …), then by name. */
function byAttempt(a: string, b: string): number {
  if (a === '' || b === '') return a === b ? 0 : a === '' ? -1 : 1;
  const [x, y] = [Number(a), Number(b)];
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  return a.localeCompare(b);
}
