import { listEveryPage, type ListPage } from '../../shared/k8s/list-pages.js';
import { classifyApiError } from '../../shared/k8s/classify-api-error.js';
import { errorMessage } from '../../shared/errors.js';
import { APP_LABEL, LIST_PATHS, ROLE_LABEL, sparkAppPath, SPARK_APP_RESOURCE } from './kinds.js';
import type { KubeCalls } from './kube-calls.js';
import { namespaceInScope, type JanitorSettings } from './settings.js';

/** client-go lists in pages of 500. */
const PAGE_SIZE = 500;
/** A paginated list restarts when its continue token expires; at most this many times. */
const MAX_LIST_RESTARTS = 3;

/** The parts of an object janitor reads. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface KubeItem {
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** Everything in scope that carries one app's id, plus its SparkApplications. */
export interface AppObjects {
  namespace: string;
  appId: string;
  drivers: KubeItem[];
  executors: KubeItem[];
  configmaps: KubeItem[];
  services: KubeItem[];
  ingresses: KubeItem[];
  sparkApps: KubeItem[];
}

/** A problem met while taking stock: reported, and the run goes on without that part. */
export interface InventoryProblem {
  what: string;
  message: string;
}

export interface Inventory {
  apps: AppObjects[];
  /** SparkApplications could be read (or are not installed): apps without a driver may be judged orphans. */
  sparkAppsKnown: boolean;
  problems: InventoryProblem[];
}

/** Every item of a collection (paginated, restarted on an expired continue token). */
export async function listAll(calls: KubeCalls, resource: string, path: string, labelSelector?: string): Promise<KubeItem[]> {
  const { items } = await listEveryPage<KubeItem>(
    (token) => calls.request<ListPage<KubeItem>>({ verb: 'list', resource }, { path, query: { labelSelector, limit: PAGE_SIZE, continue: token } }),
    MAX_LIST_RESTARTS,
  );
  return items;
}

/**
 * Takes stock of Spark objects in scope: pods, ConfigMaps, Services and Ingresses that carry
 * `spark-app-selector`, and SparkApplications, grouped by namespace and app id. One paginated list
 * per resource across all namespaces, or per resource and namespace when namespaces are named.
 * A list that fails is reported and that part is left out; a cluster without the SparkApplication
 * CRD (404) simply has none.
 */
export async function takeInventory(calls: KubeCalls, settings: JanitorSettings): Promise<Inventory> {
  const scopes: (string | undefined)[] = settings.namespaces.length > 0 ? settings.namespaces.filter((ns) => namespaceInScope(settings, ns)) : [undefined];
  const apps = new Map<string, AppObjects>();
  const problems: InventoryProblem[] = [];
  let sparkAppsKnown = true;
  const appOf = (namespace: string, appId: string): AppObjects => {
    const key = `${namespace}/${appId}`;
    let app = apps.get(key);
    if (!app) {
      app = { namespace, appId, drivers: [], executors: [], configmaps: [], services: [], ingresses: [], sparkApps: [] };
      apps.set(key, app);
    }
    return app;
  };
  const inScope = (item: KubeItem) => Boolean(item.metadata?.namespace) && namespaceInScope(settings, item.metadata.namespace);

  for (const scope of scopes) {
    const where = scope ?? 'all namespaces';
    const labelled = [
      ['pods', 'pods', LIST_PATHS.pods(scope)],
      ['configmaps', 'configmaps', LIST_PATHS.configmaps(scope)],
      ['services', 'services', LIST_PATHS.services(scope)],
      ['ingresses', 'ingresses.networking.k8s.io', LIST_PATHS.ingresses(scope)],
    ] as const;
    for (const [bucket, resource, path] of labelled) {
      let items: KubeItem[];
      try {
        items = await listAll(calls, resource, path, APP_LABEL);
      } catch (err) {
        problems.push({ what: `list ${resource} in ${where}`, message: classifyApiError(err).message ?? errorMessage(err) });
        // Without the pods, an app's driver could be missed and its objects taken for an orphan's.
        if (bucket === 'pods') sparkAppsKnown = false;
        continue;
      }
      for (const item of items.filter(inScope)) {
        const appId = item.metadata.labels?.[APP_LABEL] ?? '';
        const app = appOf(item.metadata.namespace, appId);
        if (bucket === 'pods') (item.metadata.labels?.[ROLE_LABEL] === 'driver' ? app.drivers : app.executors).push(item);
        else app[bucket].push(item);
      }
    }
    try {
      const sparkApps = await listAll(calls, SPARK_APP_RESOURCE, sparkAppPath(scope));
      for (const item of sparkApps.filter(inScope)) {
        const appId = item.status?.sparkApplicationId;
        // A SparkApplication never submitted has no app id and nothing of it to clean.
        if (typeof appId === 'string' && appId !== '') appOf(item.metadata.namespace, appId).sparkApps.push(item);
      }
    } catch (err) {
      const verdict = classifyApiError(err);
      if (verdict.class !== 'not-found') {
        sparkAppsKnown = false;
        problems.push({ what: `list ${SPARK_APP_RESOURCE} in ${where}`, message: verdict.message });
      }
    }
  }
  const sorted = [...apps.values()].sort((a, b) => (a.namespace === b.namespace ? (a.appId < b.appId ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
  return { apps: sorted, sparkAppsKnown, problems };
}
