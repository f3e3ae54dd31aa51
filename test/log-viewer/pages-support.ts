import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { run as archiverRun } from '../../functions/log-archiver/handler.js';
import { type LogViewerOptions, createLogViewer } from '../../functions/log-viewer/handler.js';
import type { LogViewerDeps } from '../../functions/log-viewer/live-cluster.js';
import { type RunningServer, type Route, startHttpServer } from '../../shared/http/server.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { listAll } from '../../shared/store/read.js';
import { batch, depsFor, filebeatValue, record } from '../log-archiver/support.js';

/** What Chromium sends when it navigates to a page. */
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8';

/** log-viewer behind `sparkfn serve`'s HTTP server (shared/http) on 127.0.0.1, as the other log-viewer tests run it. */
export async function startViewer(store: ObjectStore, options: LogViewerOptions = { access: { kind: 'none' } }, more: Partial<LogViewerDeps> = {}): Promise<RunningServer> {
  const deps: LogViewerDeps = { ...depsFor(store), ...more };
  const fn = createLogViewer(options);
  const routes: Route[] = (fn.routes ?? []).map((route) => ({ ...route, handle: (input, context) => fn.run(input, { ...deps, signal: context.signal }) }));
  return startHttpServer({ routes, logger: silentLogger, metrics: new Metrics(), bodyLimitBytes: 1 << 20, auth: {} }, 0, '127.0.0.1');
}

/** A Filebeat container event of one app's executor, as log-archiver receives it. */
export function appLine(message: string, o: { appId: string; executorId?: string; stream?: 'stdout' | 'stderr'; namespace?: string; appName?: string }): Buffer {
  return filebeatValue('container-executor', (e) => {
    e.message = message;
    e.stream = o.stream ?? 'stderr';
    const k = e.kubernetes as { namespace: string; labels: Record<string, string>; pod: { name: string } };
    const executorId = o.executorId ?? '1';
    k.labels['spark-app-selector'] = o.appId;
    k.labels['spark-exec-id'] = executorId;
    if (executorId === 'driver') {
      k.labels['spark-role'] = 'driver';
      delete k.labels['spark-exec-id'];
    }
    if (o.appName) {
      k.labels['spark-app-name'] = o.appName;
      k.labels['sparkoperator_k8s_io/app-name'] = o.appName;
    }
    k.pod.name = `${o.appName ?? 'etl-orders-daily'}-${executorId === 'driver' ? 'driver' : `exec-${executorId}`}`;
    // '' : an event that names no namespace.
    if (o.namespace === '') delete (k as { namespace?: string }).namespace;
    else if (o.namespace) k.namespace = o.namespace;
  });
}

/** Archives `lines` as one executor stream of one app, Kafka offsets from `firstOffset`. */
export async function archiveLines(store: ObjectStore, lines: readonly string[], o: Parameters<typeof appLine>[1] & { firstOffset?: number; partition?: number }): Promise<void> {
  const first = o.firstOffset ?? 0;
  await archiverRun(batch(lines.map((line, i) => record(first + i, appLine(line, o), { partition: o.partition ?? 0 }))), depsFor(store), {});
}

/** Sets the write time of every object of an app (the store lists it as lastModified). */
export async function setWritten(store: FileObjectStore, appId: string, when: Date): Promise<void> {
  for await (const o of listAll(store, `logs/${appId}/`)) await utimes(join(store.dir, o.key), when, when);
}
