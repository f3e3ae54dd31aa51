import type { KubeConfig } from '@kubernetes/client-node';
import { classifyApiError } from '../../shared/k8s/classify-api-error.js';
import { listEveryPage, type ListPage } from '../../shared/k8s/list-pages.js';
import { requestJson } from '../../shared/k8s/raw-request.js';
import { APP_LABEL, ROLE_LABEL, SPARK_APP_GROUP_VERSION } from '../janitor/kinds.js';
import type { RawObject } from './records.js';

/** client-go lists in pages of 500. */
const PAGE_SIZE = 500;
/** A paginated list restarts when its continue token expires; at most this many times. */
const MAX_LIST_RESTARTS = 3;

/** One collection the monitor reads: the same paths and selectors `sparkfn serve` watches. */
export interface Collection {
  path: string;
  labelSelector?: string;
  /** A 404 means the API is not installed (the SparkApplication CRD): none, not an error. */
  optional?: boolean;
}

/**
 * What the monitor watches (serve) or lists (timer snapshot, CLI). Pods with `spark-role` (the
 * same watch job-cost asks for, so serve opens it once), ResourceQuotas and SparkApplications
 * (the watches quota-retry asks for), and the app-labelled kinds janitor cleans.
 */
export const COLLECTIONS: readonly Collection[] = [
  { path: '/api/v1/pods', labelSelector: ROLE_LABEL },
  { path: '/api/v1/configmaps', labelSelector: APP_LABEL },
  { path: '/api/v1/services', labelSelector: APP_LABEL },
  { path: '/apis/networking.k8s.io/v1/ingresses', labelSelector: APP_LABEL },
  { path: '/api/v1/resourcequotas' },
  { path: `/apis/${SPARK_APP_GROUP_VERSION}/sparkapplications`, optional: true },
];

/**
 * Lists every collection, page by page (shared/k8s/list-pages.ts), and returns the objects with
 * their `kind` (list items of built-in types leave it out). A failing list throws: a snapshot
 * with a part missing would report apps and leftovers that are not so.
 */
export async function listSnapshot(kubeConfig: KubeConfig, signal?: AbortSignal): Promise<RawObject[]> {
  const objects: RawObject[] = [];
  for (const collection of COLLECTIONS) {
    try {
      const { items } = await listEveryPage<RawObject>(
        (token) =>
          requestJson<ListPage<RawObject>>(kubeConfig, {
            path: collection.path,
            query: { labelSelector: collection.labelSelector, limit: PAGE_SIZE, continue: token },
            ...(signal ? { signal } : {}),
          }),
        MAX_LIST_RESTARTS,
        (item, page) => ({ ...item, kind: item.kind ?? page.kind?.replace(/List$/, '') }),
      );
      for (const item of items) objects.push(item);
    } catch (err) {
      if (collection.optional && classifyApiError(err).class === 'not-found') continue;
      throw err;
    }
  }
  return objects;
}
