import type { AppIdSource, ResolvedApp, SparkApplicationRef } from '../../shared/spark/app-identity.js';
import { identityFromSparkProperties } from '../../shared/spark/app-identity.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import { listAll } from '../../shared/store/read.js';
import type { ObjectStore, ObjectSummary } from '../../shared/store/object-store.js';
import { codecOf, decode, stripInProgress } from './codecs.js';
import { ROLLING_DIR_PREFIX } from './event-log-files.js';
import { readEventLines } from './event-log-lines.js';

/**
 * Event logs whose head is read per unresolved SparkApplication, nearest to its end first: an
 * app's log is last written when it ends, so the right one is among the first few; the bound
 * keeps one end from reading every log in a large bucket.
 */
export const MAX_HEADS_READ = 24;
/** Decompressed bytes read from one log before giving up on its Spark properties (they come within the first few events). */
export const MAX_HEAD_BYTES = 8 * 1024 * 1024;
/**
 * Heads read at once: on S3 or OSS each is a GET whose latency dominates its cost, so reading a
 * few together keeps a 24-head search near one round trip per batch.
 */
export const HEAD_CONCURRENCY = 8;

/** One app's event log as the listing shows it. */
interface LoggedApp {
  appId: string;
  /** The file holding the log's first events: the single file, or a rolling log's lowest `events_<n>`. */
  firstKey: string;
  firstIndex: number;
  /** Newest write of any of its files (ms). */
  lastModified: number;
}

class HeadRead extends Error {}

/** Every app with an event log under `prefix`, by app id. */
async function listLoggedApps(store: ObjectStore, prefix: string): Promise<LoggedApp[]> {
  const apps = new Map<string, LoggedApp>();
  const note = (appId: string, object: ObjectSummary, index: number, preferred: boolean) => {
    const modified = object.lastModified.getTime();
    const known = apps.get(appId);
    if (!known) {
      apps.set(appId, { appId, firstKey: object.key, firstIndex: index, lastModified: modified });
      return;
    }
    known.lastModified = Math.max(known.lastModified, modified);
    if (index < known.firstIndex || (index === known.firstIndex && preferred)) Object.assign(known, { firstKey: object.key, firstIndex: index });
  };
  for await (const object of listAll(store, prefix)) {
    const name = object.key.slice(prefix.length);
    const slash = name.indexOf('/');
    if (slash < 0) {
      const { key, inProgress } = stripInProgress(name);
      const appId = codecOf(key) === 'none' ? key : key.slice(0, key.lastIndexOf('.'));
      // A finished file wins over an in-progress one of the same app, as findEventLog decides.
      if (appId) note(appId, object, 0, !inProgress);
      continue;
    }
    if (!name.startsWith(ROLLING_DIR_PREFIX)) continue;
    const appId = name.slice(ROLLING_DIR_PREFIX.length, slash);
    const part = /^events_(\d+)_/.exec(name.slice(slash + 1));
    if (appId && part) note(appId, object, Number(part[1]), true);
  }
  return [...apps.values()];
}

/** The Spark properties at the head of a log; stops reading at SparkListenerEnvironmentUpdate. */
async function headProperties(store: ObjectStore, key: string): Promise<Record<string, string> | undefined> {
  let properties: Record<string, string> | undefined;
  async function* bounded(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let bytes = 0;
    for await (const chunk of source) {
      yield chunk;
      bytes += chunk.length;
      if (bytes >= MAX_HEAD_BYTES) return;
    }
  }
  try {
    await readEventLines(bounded(decode(await store.get(key), codecOf(key))), (type, event) => {
      if (type !== 'SparkListenerEnvironmentUpdate') return;
      const props = event['Spark Properties'];
      const pairs = Array.isArray(props) ? props : props && typeof props === 'object' ? Object.entries(props) : [];
      properties = {};
      for (const pair of pairs) if (Array.isArray(pair) && typeof pair[0] === 'string') properties[pair[0]] = String(pair[1]);
      // Leaving the loop closes the stream: nothing after the properties is read.
      throw new HeadRead();
    });
  } catch (err) {
    if (!(err instanceof HeadRead)) throw err;
  }
  return properties;
}

/**
 * Finds a SparkApplication's app id without the cluster and without its pods: the event log
 * whose Spark properties carry the operator's driver label
 * (`spark.kubernetes.driver.label.sparkoperator.k8s.io/app-name`) with the app's name, in its
 * namespace (`spark.kubernetes.namespace`). The log's id is `spark.app.id`, else its file name.
 * The listing is made once per source (one run), then at most MAX_HEADS_READ heads per app,
 * nearest the end time first, HEAD_CONCURRENCY at a time; a log that cannot be read is passed over.
 * @example await eventLogPropertiesSource(store, 'spark-events/').resolve({ namespace: 'spark-team-a', name: 'spark-pi-python' }) // { appId: 'spark-bcec…', resolvedBy: 'event-log-properties' }
 */
export function eventLogPropertiesSource(store: ObjectStore, prefix: string): AppIdSource {
  let listing: Promise<LoggedApp[]> | undefined;
  const known = new Map<string, Record<string, string> | undefined>();
  return {
    name: 'event-log-properties',
    async resolve(app: SparkApplicationRef): Promise<ResolvedApp | undefined> {
      listing ??= listLoggedApps(store, prefix);
      const apps = await listing;
      const near = app.endTime ?? Number.MAX_SAFE_INTEGER;
      const order = [...apps].sort((a, b) => Math.abs(a.lastModified - near) - Math.abs(b.lastModified - near) || a.appId.localeCompare(b.appId));
      const candidates = order.slice(0, MAX_HEADS_READ);
      // The nearest log alone first (the app that just ended, nearly always), then batches.
      for (let i = 0; i < candidates.length; i += i === 0 ? 1 : HEAD_CONCURRENCY) {
        const batch = candidates.slice(i, i === 0 ? 1 : i + HEAD_CONCURRENCY);
        await mapConcurrently(batch, HEAD_CONCURRENCY, async (candidate) => {
          if (known.has(candidate.firstKey)) return;
          let properties: Record<string, string> | undefined;
          try {
            properties = await headProperties(store, candidate.firstKey);
          } catch {
            properties = undefined;
          }
          known.set(candidate.firstKey, properties);
        });
        // In nearness order, so the run that ended nearest the event wins whatever finished first.
        for (const candidate of batch) {
          const properties = known.get(candidate.firstKey);
          if (!properties) continue;
          const identity = identityFromSparkProperties(properties);
          if (identity.sparkApplication !== app.name) continue;
          if (identity.namespace && identity.namespace !== app.namespace) continue;
          return { appId: identity.appId ?? candidate.appId, resolvedBy: 'event-log-properties' };
        }
      }
      return undefined;
    },
  };
}
