/** The label Spark on Kubernetes puts on every pod, ConfigMap, Service and Ingress of an app (its app id). */
export const APP_LABEL = 'spark-app-selector';
/** `driver` or `executor`, on pods. */
export const ROLE_LABEL = 'spark-role';

/** What janitor deletes per app, in the order it deletes them: the driver pod last, so a half-cleaned app is still found next run. */
export const CLEAN_KINDS = ['executor-pods', 'configmaps', 'services', 'ingresses', 'driver-pod'] as const;
export type CleanKind = (typeof CLEAN_KINDS)[number];

/** How one kind is reached: its collection path in a namespace, and the selector that picks one app's objects. */
export interface KindSpec {
  kind: CleanKind;
  /** Resource name for logs, metrics and RBAC (`pods`, `ingresses.networking.k8s.io`). */
  resource: string;
  /** Singular, for `dry-run: would delete configmap ns/name`. */
  singular: string;
  collectionPath(namespace: string): string;
  selector(appId: string): string;
}

const corePath = (plural: string) => (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/${plural}`;
const appSelector = (appId: string) => `${APP_LABEL}=${appId}`;

export const KIND_SPECS: Readonly<Record<CleanKind, KindSpec>> = {
  // Anything of the app that is not the driver: executors, and pods some submitters leave without a role.
  'executor-pods': { kind: 'executor-pods', resource: 'pods', singular: 'pod', collectionPath: corePath('pods'), selector: (id) => `${appSelector(id)},${ROLE_LABEL}!=driver` },
  configmaps: { kind: 'configmaps', resource: 'configmaps', singular: 'configmap', collectionPath: corePath('configmaps'), selector: appSelector },
  services: { kind: 'services', resource: 'services', singular: 'service', collectionPath: corePath('services'), selector: appSelector },
  ingresses: {
    kind: 'ingresses',
    resource: 'ingresses.networking.k8s.io',
    singular: 'ingress',
    collectionPath: (namespace) => `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/ingresses`,
    selector: appSelector,
  },
  'driver-pod': { kind: 'driver-pod', resource: 'pods', singular: 'pod', collectionPath: corePath('pods'), selector: (id) => `${appSelector(id)},${ROLE_LABEL}=driver` },
};

/** spark-operator's SparkApplication (sparkoperator.k8s.io/v1beta2). */
export const SPARK_APP_GROUP_VERSION = 'sparkoperator.k8s.io/v1beta2';
export const SPARK_APP_RESOURCE = 'sparkapplications.sparkoperator.k8s.io';
export const sparkAppPath = (namespace?: string) =>
  namespace === undefined ? `/apis/${SPARK_APP_GROUP_VERSION}/sparkapplications` : `/apis/${SPARK_APP_GROUP_VERSION}/namespaces/${encodeURIComponent(namespace)}/sparkapplications`;

/** Collection paths for the inventory lists, in one namespace or (undefined) across all. */
export const LIST_PATHS = {
  pods: (namespace?: string) => (namespace === undefined ? '/api/v1/pods' : corePath('pods')(namespace)),
  configmaps: (namespace?: string) => (namespace === undefined ? '/api/v1/configmaps' : corePath('configmaps')(namespace)),
  services: (namespace?: string) => (namespace === undefined ? '/api/v1/services' : corePath('services')(namespace)),
  ingresses: (namespace?: string) =>
    namespace === undefined ? '/apis/networking.k8s.io/v1/ingresses' : `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/ingresses`,
} as const;

/** Label values (what an app id is): at most 63 characters, alphanumerics with `-`, `_`, `.` inside. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `appId` cannot go into a label selector as it is, or undefined when it can. */
export function appIdProblem(appId: string): string | undefined {
  if (appId.length === 0) return 'is empty';
  if (appId.length > 63 || !LABEL_VALUE.test(appId)) return 'is not a valid label value';
  return undefined;
}
