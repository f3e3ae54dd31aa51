import type { FilebeatEvent } from './filebeat-event.js';
import type { KeyFields } from './key-template.js';
import type { IdentitySource } from './settings.js';

/** The two streams a container has; everything archived belongs to one of them. */
export type LogStream = 'stdout' | 'stderr';
export const LOG_STREAMS: readonly LogStream[] = ['stdout', 'stderr'];

/** Executor id Spark's driver gets in our keys (it has no `spark-exec-id` label). */
export const DRIVER_EXECUTOR_ID = 'driver';

/** Whose log a record is. The ids are not validated yet (see `keySegmentProblem`). */
export interface Identity {
  appId: string;
  executorId: string;
  appType?: string;
  /** Where the ids came from. */
  source: IdentitySource;
}

/**
 * The app and executor a record belongs to: the first source in `order` that names both wins.
 * 1. `key`: the record key read with the key template (Filebeat `output.kafka.key`);
 * 2. `fields`: `fields.app_id` / `fields.executor_id`, or the same at the top level (`fields_under_root`);
 * 3. `labels`: the Spark pod labels add_kubernetes_metadata copies: `spark-app-selector`, and
 *    `spark-exec-id`, or `driver` when `spark-role` is `driver`.
 * The app type comes from the winning source, else from `fields`.
 * @example resolveIdentity(undefined, event, ['key', 'fields', 'labels']) // { appId: 'spark-4f9c…', executorId: '1', source: 'labels' }
 */
export function resolveIdentity(key: KeyFields | undefined, event: FilebeatEvent | undefined, order: readonly IdentitySource[]): Identity | undefined {
  const fallbackType = event ? (event.fields.appType ?? event.root.appType) : undefined;
  for (const source of order) {
    const found = fromSource(source, key, event);
    if (found) {
      const appType = found.appType ?? fallbackType;
      return appType === undefined ? found : { ...found, appType };
    }
  }
  return undefined;
}

function fromSource(source: IdentitySource, key: KeyFields | undefined, event: FilebeatEvent | undefined): Identity | undefined {
  switch (source) {
    case 'key':
      if (key?.appId && key.executorId) return withType({ appId: key.appId, executorId: key.executorId, source }, key.appType);
      return undefined;
    case 'fields': {
      // `fields.*`, else the same at the top level (fields_under_root).
      const f = event?.fields.appId && event.fields.executorId ? event.fields : event?.root;
      if (f?.appId && f.executorId) return withType({ appId: f.appId, executorId: f.executorId, source }, f.appType);
      return undefined;
    }
    case 'labels': {
      const labels = event?.labels;
      if (!labels?.appSelector) return undefined;
      const executorId = labels.execId || (labels.role === 'driver' ? DRIVER_EXECUTOR_ID : undefined);
      return executorId ? { appId: labels.appSelector, executorId, source } : undefined;
    }
  }
}

function withType(identity: Identity, appType: string | undefined): Identity {
  return appType ? { ...identity, appType } : identity;
}

/**
 * Which stream a line was written to: the key template's `<stream>`, else Filebeat's `stream`
 * (container input), else the log file's name (`…/stderr`, `stdout.log`), else stdout.
 * @example streamOf(undefined, { stream: 'stderr' }) // 'stderr'
 */
export function streamOf(keyStream: string | undefined, event: Pick<FilebeatEvent, 'stream' | 'logFilePath'> | undefined): LogStream {
  if (keyStream === 'stdout' || keyStream === 'stderr') return keyStream;
  const stream = event?.stream;
  if (stream === 'stdout' || stream === 'stderr') return stream;
  const path = event?.logFilePath;
  if (path) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (/(^|[._-])stderr([._-]|$)/.test(name)) return 'stderr';
  }
  return 'stdout';
}
