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

/** Where an app's event log lives: one file, or a rolling log's files in index order. */
export interface EventLogLocation {
  layout: 'single' | 'rolling';
  parts: EventLogPart[];
}

/** Rolling event logs (Spark 3, spark.eventLog.rolling.enabled): a directory of `events_<n>_<appId>` files. */
export const ROLLING_DIR_PREFIX = 'eventlog_v2_';

function part(key: string, size: number): EventLogPart {
  return { key, codec: codecOf(key), inProgress: stripInProgress(key).inProgress, size };
}

/**
 * Finds `<prefix><appId>` in the store: a single file (`<appId>`, `<appId>.zstd`,
 * `<appId>.lz4.inprogress`…; a finished file wins over an in-progress one) or a rolling log
 * (`eventlog_v2_<appId>/events_<n>_<appId>[.codec][.inprogress]`, by n). Undefined when neither exists.
 */
export async function findEventLog(store: ObjectStore, prefix: string, appId: string): Promise<EventLogLocation | undefined> {
  const rolling: { index: number; part: EventLogPart }[] = [];
  const dir = `${prefix}${ROLLING_DIR_PREFIX}${appId}/`;
  for await (const object of listAll(store, dir)) {
    const name = object.key.slice(dir.length);
    const match = /^events_(\d+)_(.+)$/.exec(stripInProgress(name).key);
    if (match && (match[2] === appId || match[2]!.startsWith(`${appId}.`))) rolling.push({ index: Number(match[1]), part: part(object.key, object.size) });
  }
  if (rolling.length > 0) return { layout: 'rolling', parts: rolling.sort((a, b) => a.index - b.index).map((r) => r.part) };

  const singles: EventLogPart[] = [];
  for await (const object of listAll(store, `${prefix}${appId}`)) {
    const name = stripInProgress(object.key.slice(prefix.length)).key;
    if (name === appId || (name.startsWith(`${appId}.`) && !name.slice(appId.length + 1).includes('/'))) singles.push(part(object.key, object.size));
  }
  const finished = singles.find((p) => !p.inProgress);
  const chosen = finished ?? singles[0];
  return chosen ? { layout: 'single', parts: [chosen] } : undefined;
}
