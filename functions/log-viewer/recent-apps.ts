import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { LOGS_PREFIX } from '../log-archiver/chunk-key.js';
import { META } from '../log-archiver/object-metadata.js';
import { LOGS_ROUTE } from './log-path.js';

/** Most keys one listing of recent apps reads (LIST pages of 1000): the store has no index by time, so the scan is capped. */
export const MAX_SCANNED_KEYS = 20_000;
/** Apps on one page of the list. */
export const RECENT_APPS_PAGE_SIZE = 50;
/** Most HEADs one page may make to learn namespaces and names (more when a namespace filter hides apps). */
const MAX_HEADS = 500;
const HEAD_CONCURRENCY = 16;
/** Pages past this are refused: nobody pages this far, and each page costs the same scan. */
export const MAX_PAGE = 100;

/** One app in the list of recent apps. */
export interface RecentApp {
  appId: string;
  /** From the archive's object metadata; null when Filebeat did not say. */
  namespace: string | null;
  appName: string | null;
  /** When its newest and oldest objects were written. */
  lastWritten: string;
  firstWritten: string;
  objects: number;
  storedBytes: number;
  path: string;
}

export interface RecentApps {
  apps: RecentApp[];
  page: number;
  pageSize: number;
  /** Another page follows. */
  more: boolean;
  /** Keys read, and whether that was every key under `logs/` (false: apps past the cap are not listed). */
  scannedKeys: number;
  complete: boolean;
}

/** Which apps a listing may show: every app, or those in these namespaces. */
export type NamespaceFilter = (namespace: string | null) => boolean;

/**
 * The apps that have logs, newest written first, one page of them, with namespace and app name
 * read from the metadata of each shown app's newest object. Bounded: at most MAX_SCANNED_KEYS
 * keys are listed (`complete` says whether that was all) and at most MAX_HEADS objects HEADed.
 * `visible` hides apps the caller may not read (or did not ask for) before paging.
 */
export async function listRecentApps(store: ObjectStore, options: { page?: number; visible?: NamespaceFilter } = {}): Promise<RecentApps> {
  const page = options.page ?? 1;
  const apps = new Map<string, { last: Date; first: Date; newestKey: string; objects: number; bytes: number }>();
  let scannedKeys = 0;
  let token: string | undefined;
  do {
    const listed = await store.list(LOGS_PREFIX, token ? { token } : {});
    for (const o of listed.objects) {
      scannedKeys++;
      const appId = o.key.slice(LOGS_PREFIX.length).split('/')[0];
      // Only keys of the layout logs/<appId>/<executorId>/…
      if (!appId || o.key.split('/').length < 4) continue;
      const known = apps.get(appId);
      if (!known) apps.set(appId, { last: o.lastModified, first: o.lastModified, newestKey: o.key, objects: 1, bytes: o.size });
      else {
        if (o.lastModified > known.last) Object.assign(known, { last: o.lastModified, newestKey: o.key });
        if (o.lastModified < known.first) known.first = o.lastModified;
        known.objects++;
        known.bytes += o.size;
      }
    }
    token = listed.nextToken;
  } while (token && scannedKeys < MAX_SCANNED_KEYS);

  const sorted = [...apps.entries()].sort(([a, x], [b, y]) => y.last.getTime() - x.last.getTime() || (a < b ? -1 : 1));
  const skip = (page - 1) * RECENT_APPS_PAGE_SIZE;
  const wanted = skip + RECENT_APPS_PAGE_SIZE + 1;
  const shown: RecentApp[] = [];
  let headed = 0;
  const visible = options.visible;
  for (let i = 0; i < sorted.length && shown.length < wanted && headed < MAX_HEADS; ) {
    // Without a filter only the page itself needs HEADs; with one, batches until the page is full.
    const batchEnd = visible ? Math.min(sorted.length, i + HEAD_CONCURRENCY, i + MAX_HEADS - headed) : Math.min(sorted.length, wanted);
    const batch = sorted.slice(i, batchEnd);
    const needHead = (j: number) => visible !== undefined || i + j >= skip;
    const heads = await mapConcurrently(batch, HEAD_CONCURRENCY, ([, a], j) => (needHead(j) ? store.head(a.newestKey) : Promise.resolve(undefined)));
    headed += batch.filter((_, j) => needHead(j)).length;
    batch.forEach(([appId, a], j) => {
      const metadata = heads[j]?.metadata ?? {};
      const namespace = metadata[META.namespace] ?? null;
      if (visible && !visible(namespace)) return;
      shown.push({
        appId,
        namespace,
        appName: metadata[META.appName] ?? null,
        lastWritten: a.last.toISOString(),
        firstWritten: a.first.toISOString(),
        objects: a.objects,
        storedBytes: a.bytes,
        path: `${LOGS_ROUTE}${appId}`,
      });
    });
    i = batchEnd;
  }
  return {
    apps: shown.slice(skip, skip + RECENT_APPS_PAGE_SIZE),
    page,
    pageSize: RECENT_APPS_PAGE_SIZE,
    more: shown.length > skip + RECENT_APPS_PAGE_SIZE,
    scannedKeys,
    complete: token === undefined,
  };
}
