import { isSafeKeySegment } from '../../shared/ids.js';
import type { K8sObjectChange } from '../../shared/platform/trigger.js';
import { sparkApplicationNameOf } from '../../shared/spark/app-identity.js';
import type { AppEnd } from './app-end.js';
import { SPARK_LABEL_NAMES } from './filebeat-event.js';

/** Pod phases after which a driver never runs again (restartPolicy Never, as Spark sets it). */
export const DRIVER_TERMINAL_PHASES = ['Succeeded', 'Failed'] as const;
/** The watch log-archiver asks `sparkfn serve` for: driver pods only (Spark labels every pod it makes). */
export const DRIVER_POD_WATCH = { path: '/api/v1/pods', labelSelector: `${SPARK_LABEL_NAMES.role}=driver` } as const;

/** A driver pod that ended, as a watched change shows it. */
export interface DriverPodEnd {
  /** Spark's application id (the `spark-app-selector` label), when it is a safe key segment. */
  appId?: string;
  /** The same end as an event would name it, to match apps whose chunks carry no such id. */
  end: AppEnd;
}

/**
 * The Spark app a watched pod change says has ended, or undefined: a pod labelled
 * `spark-role=driver` whose phase is Succeeded or Failed, or that was deleted (its driver is gone
 * whatever the phase, so the app will write no more). The app id is the pod's
 * `spark-app-selector` label, which Spark sets to the application id on every pod of the app.
 * @example driverPodEnd({ type: 'MODIFIED', object: pod }) // { appId: 'spark-4f9c…', end: { reason: 'DriverPodSucceeded', namespace: 'spark-jobs', driverPod: 'spark-pi-4f9c2e7a-driver', appName: 'spark-pi' } }
 */
export function driverPodEnd(change: K8sObjectChange): DriverPodEnd | undefined {
  const { object, type } = change;
  if (object.kind !== undefined && object.kind !== 'Pod') return undefined;
  const labels = object.metadata?.labels ?? {};
  if (labels[SPARK_LABEL_NAMES.role] !== 'driver') return undefined;
  const phase = (object.status as { phase?: unknown } | undefined)?.phase;
  const terminal = typeof phase === 'string' && (DRIVER_TERMINAL_PHASES as readonly string[]).includes(phase);
  if (!terminal && type !== 'DELETED') return undefined;
  const name = object.metadata?.name;
  const namespace = object.metadata?.namespace;
  const appName = sparkApplicationNameOf(labels);
  const end: AppEnd = {
    reason: terminal ? `DriverPod${phase}` : 'DriverPodDeleted',
    ...(namespace ? { namespace } : {}),
    ...(typeof name === 'string' ? { driverPod: name } : {}),
    ...(appName ? { appName } : {}),
  };
  const appId = labels[SPARK_LABEL_NAMES.appSelector];
  return appId !== undefined && isSafeKeySegment(appId) ? { appId, end } : { end };
}
