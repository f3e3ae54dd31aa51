import { errorMessage } from '../errors.js';
import { isSafeKeySegment } from '../ids.js';

/** Labels Spark puts on every pod of an app (Spark's Kubernetes Constants.scala). */
export const SPARK_POD_LABELS = {
  /** The application id (`spark-…`), on the driver and every executor. */
  appId: 'spark-app-selector',
  role: 'spark-role',
  executorId: 'spark-exec-id',
  /** `spark.app.name` as the pod's creator saw it: the application's code can change it (`PythonPi`). */
  appName: 'spark-app-name',
} as const;

/**
 * The SparkApplication's name, which spark-operator (v1beta2-1.3.x and v2.x) puts on the driver
 * and executor pods through `spark.kubernetes.{driver,executor}.label.sparkoperator.k8s.io/app-name`.
 */
export const OPERATOR_APP_NAME_LABEL = 'sparkoperator.k8s.io/app-name';
/** The same label as Filebeat's add_kubernetes_metadata writes it with `labels.dedot: true` (its default). */
export const OPERATOR_APP_NAME_LABEL_DEDOTTED = 'sparkoperator_k8s_io/app-name';
/** Spark property through which spark-operator labels the driver pod with the SparkApplication's name. */
export const OPERATOR_APP_NAME_PROPERTY = `spark.kubernetes.driver.label.${OPERATOR_APP_NAME_LABEL}`;

/**
 * The SparkApplication an app's pod belongs to, by its labels: the operator's
 * `sparkoperator.k8s.io/app-name` (or Filebeat's dedotted `sparkoperator_k8s_io/app-name`)
 * first, since it is always the SparkApplication's name; `spark-app-name` only when there is no
 * operator label, as it is `spark.app.name`, which the app's code may have changed.
 * @example sparkApplicationNameOf({ 'sparkoperator_k8s_io/app-name': 'spark-pi-python', 'spark-app-name': 'pythonpi' }) // 'spark-pi-python'
 */
export function sparkApplicationNameOf(labels: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!labels) return undefined;
  for (const key of [OPERATOR_APP_NAME_LABEL, OPERATOR_APP_NAME_LABEL_DEDOTTED, SPARK_POD_LABELS.appName]) {
    const value = labels[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** Who an app is, as its event log's Spark properties (SparkListenerEnvironmentUpdate) say. */
export interface PropertiesIdentity {
  appId?: string;
  /** The SparkApplication's name (the operator's driver label), when the operator launched it. */
  sparkApplication?: string;
  namespace?: string;
  driverPod?: string;
}

/**
 * The identity Spark properties carry: `spark.app.id`, the operator's driver label,
 * `spark.kubernetes.namespace`, `spark.kubernetes.driver.pod.name`.
 * @example identityFromSparkProperties({ 'spark.app.id': 'spark-bcec…', 'spark.kubernetes.driver.label.sparkoperator.k8s.io/app-name': 'spark-pi-python' }) // { appId: 'spark-bcec…', sparkApplication: 'spark-pi-python' }
 */
export function identityFromSparkProperties(properties: Readonly<Record<string, string>>): PropertiesIdentity {
  const pick = (key: string) => (properties[key] ? properties[key] : undefined);
  const found: PropertiesIdentity = {};
  const appId = pick('spark.app.id');
  const sparkApplication = pick(OPERATOR_APP_NAME_PROPERTY);
  const namespace = pick('spark.kubernetes.namespace');
  const driverPod = pick('spark.kubernetes.driver.pod.name');
  if (appId) found.appId = appId;
  if (sparkApplication) found.sparkApplication = sparkApplication;
  if (namespace) found.namespace = namespace;
  if (driverPod) found.driverPod = driverPod;
  return found;
}

/**
 * How an app's id was found, as cost records and logs say it:
 * - `end-signal`: the end signal carried it (a driver pod's `spark-app-selector`, a listener POST);
 * - `pod-ledger`: learned from the app's pods (`sparkfn serve`'s pod watch);
 * - `spark-application-status`: the SparkApplication's `status.sparkApplicationId` (cluster reachable);
 * - `driver-pod-labels`: the driver pod's `spark-app-selector` (cluster reachable, status without the id);
 * - `event-log-properties`: the event log whose Spark properties name the SparkApplication (no cluster).
 */
export type AppResolution = 'end-signal' | 'pod-ledger' | 'spark-application-status' | 'driver-pod-labels' | 'event-log-properties';
export const APP_RESOLUTIONS: readonly AppResolution[] = ['end-signal', 'pod-ledger', 'spark-application-status', 'driver-pod-labels', 'event-log-properties'];

/** A SparkApplication whose app id is wanted, as an end event names it. */
export interface SparkApplicationRef {
  namespace: string;
  name: string;
  /** When it ended (ms), to pick the right run among several of the same name. */
  endTime?: number;
  /** The driver pod's name, when the event names it. */
  driverPod?: string;
}

/** An app id and how it was found. */
export interface ResolvedApp {
  appId: string;
  resolvedBy: AppResolution;
}

/** One place an app id can be learned from; undefined when it does not know, a throw when it failed. */
export interface AppIdSource {
  /** For logs: what the source is. */
  readonly name: string;
  resolve(app: SparkApplicationRef): Promise<ResolvedApp | undefined>;
}

/** What resolution tried, for the log line of an app that stayed unresolved. */
export interface ResolutionAttempt {
  source: string;
  outcome: 'unknown' | 'unsafe-id' | 'failed';
  detail?: string;
}

/**
 * The app id of a SparkApplication, from the first source that knows it. A source that fails
 * (cluster unreachable, store error) is noted and the next one asked, so one missing way never
 * leaves an app unresolved while another knows it. Ids that cannot be a key segment are refused.
 * @example
 * const found = await resolveAppId({ namespace: 'spark-jobs', name: 'spark-pi-python' }, [ledgerSource, statusSource, eventLogSource]);
 * // { resolved: { appId: 'spark-bcec…', resolvedBy: 'event-log-properties' }, attempts: [{ source: 'pod-ledger', outcome: 'unknown' }, …] }
 */
export async function resolveAppId(app: SparkApplicationRef, sources: readonly AppIdSource[]): Promise<{ resolved?: ResolvedApp; attempts: ResolutionAttempt[] }> {
  const attempts: ResolutionAttempt[] = [];
  for (const source of sources) {
    try {
      const found = await source.resolve(app);
      if (!found) {
        attempts.push({ source: source.name, outcome: 'unknown' });
        continue;
      }
      if (!isSafeKeySegment(found.appId)) {
        attempts.push({ source: source.name, outcome: 'unsafe-id', detail: JSON.stringify(found.appId).slice(0, 80) });
        continue;
      }
      return { resolved: found, attempts };
    } catch (err) {
      attempts.push({ source: source.name, outcome: 'failed', detail: errorMessage(err) });
    }
  }
  return { attempts };
}
