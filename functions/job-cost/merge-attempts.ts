import type { EventLogRead } from './event-log-reader.js';
import type { LedgerPod } from './ledger.js';
import type { MergedApp, MergeOptions, PodSpan, Source } from './merge.js';

/**
 * Costs an app whose event log comes in attempts (YARN cluster mode retries the application
 * master; `spark.app.attempt.id`): every attempt ran its own driver and executors and was
 * billed, so each is merged on its own and the results added up. A ledger pod goes to the
 * attempt running when it started (the last one that had started by then). The app spans the
 * first attempt's start to the last one's end; `attempts` lists the attempt ids.
 */
export function mergeAttempts(options: MergeOptions, attempts: readonly EventLogRead[], mergeOne: (options: MergeOptions) => MergedApp): MergedApp {
  const starts = attempts.map((a) => a.summary.start);
  const attemptOf = (pod: LedgerPod): number => {
    if (pod.start === undefined) return attempts.length - 1;
    let index = 0;
    starts.forEach((start, i) => {
      if (start !== undefined && start <= pod.start!) index = i;
    });
    return index;
  };
  // A log named by app id alone beside attempt-named ones (Spark does not write both) is still costed.
  const ids = attempts.map((a) => a.attemptId ?? 'unnamed');
  const merged = attempts.map((log, i) => {
    const { signalEnd: _notThisAttempts, ...withoutSignalEnd } = options;
    // Only the last attempt ended when the app did: the trigger's end time is not an earlier attempt's.
    const app = mergeOne({ ...(i === attempts.length - 1 ? options : withoutSignalEnd), log, pods: options.pods.filter((pod) => attemptOf(pod) === i) });
    const tag = (span: PodSpan): PodSpan => ({ ...span, attempt: ids[i]! });
    return { ...app, ...(app.driver ? { driver: tag(app.driver) } : {}), executors: app.executors.map(tag), errors: app.errors.map((e) => `Attempt ${ids[i]}: ${e}`) };
  });
  const last = merged.at(-1)!;
  const earliest = (values: (number | undefined)[]) => values.reduce<number | undefined>((min, v) => (v !== undefined && (min === undefined || v < min) ? v : min), undefined);
  const latest = (values: (number | undefined)[]) => values.reduce<number | undefined>((max, v) => (v !== undefined && (max === undefined || v > max) ? v : max), undefined);
  const start = earliest(merged.map((m) => m.start));
  const end = latest(merged.map((m) => m.end));
  const source: Source = options.pods.length > 0 ? 'event-log+ledger' : 'event-log';
  const earlierDrivers = merged.slice(0, -1).flatMap((m) => (m.driver ? [m.driver] : []));
  return {
    ...last,
    ...(start !== undefined ? { start } : {}),
    ...(end !== undefined ? { end } : {}),
    incomplete: merged.some((m) => m.incomplete),
    source,
    ...(earlierDrivers.length > 0 ? { earlierDrivers } : {}),
    attempts: ids,
    executors: merged.flatMap((m) => m.executors),
    anomalies: [...new Set(merged.flatMap((m) => m.anomalies))].sort(),
    errors: merged.flatMap((m) => m.errors),
  };
}
