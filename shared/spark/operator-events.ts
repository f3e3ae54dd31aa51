import type { CoreV1Event } from '@kubernetes/client-node';

/** Reasons spark-operator gives a SparkApplication's event when the application is over. */
export const APP_END_REASONS: ReadonlySet<string> = new Set(['SparkApplicationCompleted', 'SparkApplicationFailed']);
/** Reasons spark-operator gives when the driver pod ended. */
export const DRIVER_END_REASONS: ReadonlySet<string> = new Set(['SparkDriverCompleted', 'SparkDriverFailed']);
/** spark-operator's executor state reasons, by the state they report. */
export const EXECUTOR_REASONS: ReadonlyMap<string, ExecutorState> = new Map([
  ['SparkExecutorPending', 'pending'],
  ['SparkExecutorRunning', 'running'],
  ['SparkExecutorCompleted', 'completed'],
  ['SparkExecutorFailed', 'failed'],
  ['SparkExecutorUnknown', 'unknown'],
  ['SparkExecutorUnknownState', 'unknown'],
]);
/** The operator names the driver pod `<SparkApplication name>-driver` unless `spec.driver.podName` says otherwise. */
export const DRIVER_POD_SUFFIX = '-driver';

export type ExecutorState = 'pending' | 'running' | 'completed' | 'failed' | 'unknown';

/** What one spark-operator event about a SparkApplication says, or nothing for any other event. */
export type OperatorEvent =
  | { kind: 'app-end'; namespace: string; sparkApplication: string; reason: string; at?: number; driverPod: string }
  | { kind: 'driver-end'; namespace: string; sparkApplication: string; reason: string; at?: number; driverPod: string }
  | { kind: 'executor'; namespace: string; sparkApplication: string; reason: string; at?: number; state: ExecutorState; pod: string; executorId?: string };

// A pod name is a DNS-1123 subdomain: no spaces, brackets, commas or parentheses.
const POD_NAME = '([a-z0-9][a-z0-9.-]*)';
/** v1beta2-1.3.x passes the arguments as one slice (`Executor [pod] completed`, `Executor [pod 1 Error] failed…`); v2.x formats them (`Executor pod is running`). */
const SENTENCE = new RegExp(`^(?:Executor|Driver) \\[?${POD_NAME}[\\s\\]]`);
/**
 * spark-operator's main branch records through the events.k8s.io API (`Eventf(regarding, related,
 * type, reason, action, note, args…)`) and passes the sentence as `action` and the app name as
 * `note`, so the message is `<app>%!(EXTRA string=<pod>[, int32=1, string=Error, …])` (Go's fmt
 * for arguments the format has no verb for).
 */
const EXTRA = new RegExp(`%!\\(EXTRA string=${POD_NAME}[,)]`);

/**
 * The pod an operator event's message names: `Executor <pod> …` / `Driver <pod> …` in every
 * released format, the first EXTRA string of main's format, or (main's driver events, whose
 * note is the pod name itself) the whole message when it is one pod name other than the app's.
 * @example podNamedBy('spark-pi-python%!(EXTRA string=pythonpi-009fa697a98f0548-exec-1)', 'spark-pi-python') // 'pythonpi-009fa697a98f0548-exec-1'
 */
export function podNamedBy(message: string | undefined, sparkApplication: string): string | undefined {
  if (!message) return undefined;
  const text = message.trim();
  const named = SENTENCE.exec(text)?.[1] ?? EXTRA.exec(text)?.[1];
  if (named) return named;
  if (text !== sparkApplication && new RegExp(`^${POD_NAME}$`).test(text)) return text;
  return undefined;
}

/** The time an event happened (ms): lastTimestamp (core/v1 recorders), eventTime (events.k8s.io), first, creation. */
export function eventTimeOf(event: CoreV1Event): number | undefined {
  for (const t of [event.lastTimestamp, event.eventTime, event.firstTimestamp, event.metadata?.creationTimestamp]) {
    const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN;
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

/**
 * Reads a spark-operator event (involvedObject a SparkApplication) in the formats of
 * v1beta2-1.3.x, v2.x and the main branch: the application's end, the driver's end (with the
 * driver pod, the `<name>-driver` default when the message does not say), or an executor's state
 * with its pod and, from the pod name's `-exec-<n>` suffix, the executor id.
 * @example readOperatorEvent(event) // { kind: 'executor', namespace: 'spark-team-a', sparkApplication: 'spark-pi-python', state: 'running', pod: 'pythonpi-009fa697a98f0548-exec-1', executorId: '1', … }
 */
export function readOperatorEvent(event: CoreV1Event): OperatorEvent | undefined {
  const reason = event.reason ?? '';
  const object = event.involvedObject ?? {};
  const namespace = object.namespace ?? event.metadata?.namespace;
  const name = object.name;
  // Older kube-eventer templates and some sinks drop involvedObject.kind; the reasons are the operator's own.
  if (!namespace || !name || (object.kind !== undefined && object.kind !== '' && object.kind !== 'SparkApplication')) return undefined;
  const at = eventTimeOf(event);
  const base = { namespace, sparkApplication: name, reason, ...(at !== undefined ? { at } : {}) };
  const pod = podNamedBy(event.message, name);
  if (APP_END_REASONS.has(reason) || DRIVER_END_REASONS.has(reason)) {
    // An app-end message names no pod in any format; the driver's events do.
    const driverPod = DRIVER_END_REASONS.has(reason) && pod ? pod : `${name}${DRIVER_POD_SUFFIX}`;
    return { kind: APP_END_REASONS.has(reason) ? 'app-end' : 'driver-end', ...base, driverPod };
  }
  const state = EXECUTOR_REASONS.get(reason);
  if (state && pod) {
    const executorId = /-exec-(\d+)$/.exec(pod)?.[1];
    return { kind: 'executor', ...base, state, pod, ...(executorId ? { executorId } : {}) };
  }
  return undefined;
}
