import { classifyApiError } from './classify-api-error.js';

/** One page of a Kubernetes list answer. */
export interface ListPage<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** A list whose pages were all read: the items (as `mapItem` made them) and the list's resourceVersion. */
export interface ListResult<U> {
  items: U[];
  resourceVersion: string;
}

/**
 * Reads every page of a paginated list. A continue token that outlived etcd's compaction
 * answers 410: the pages read so far are no longer one snapshot, so the list starts over from
 * the first page, at most `maxRestarts` times.
 * @example await listEveryPage((token) => requestJson(kc, { path, query: { limit: 500, continue: token } }), 5)
 */
export async function listEveryPage<T, U = T>(
  fetchPage: (continueToken: string | undefined) => Promise<ListPage<T>>,
  maxRestarts: number,
  mapItem: (item: T, page: ListPage<T>) => U = (item) => item as unknown as U,
): Promise<ListResult<U>> {
  const items: U[] = [];
  let token: string | undefined;
  for (let restarts = 0; ; ) {
    let page: ListPage<T>;
    try {
      page = await fetchPage(token);
    } catch (err) {
      if (token && classifyApiError(err).class === 'gone' && restarts < maxRestarts) {
        restarts++;
        items.length = 0;
        token = undefined;
        continue;
      }
      throw err;
    }
    for (const item of page.items ?? []) items.push(mapItem(item, page));
    token = page.metadata?.continue || undefined;
    if (!token) return { items, resourceVersion: page.metadata?.resourceVersion ?? '' };
  }
}
