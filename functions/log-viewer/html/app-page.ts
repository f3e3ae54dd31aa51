import type { HttpResult } from '../../../shared/platform/trigger.js';
import { LOG_STREAMS, type LogStream } from '../../log-archiver/identity.js';
import type { AppListing } from '../app-listing.js';
import { LOGS_ROUTE } from '../log-path.js';
import { escapeHtml } from './escape.js';
import { crumbs, formatBytes, formatTime, htmlPage, link } from './layout.js';

/** Where an executor's log is now: its pod still runs (the log goes on), or only the archive is left. */
export type ExecutorState = 'live' | 'archived';

/** What the app page shows of one executor: filled from the archive listing, and from the pods while they exist. */
export interface ExecutorRow {
  executorId: string;
  podName: string | null;
  node: string | null;
  state: ExecutorState;
  streams: { stream: LogStream; href: string; storedBytes: number | null; firstEventTime: string | null; lastEventTime: string | null }[];
}

/** The app page's data: a plain object, so the archive listing and the live pods can each fill it. */
export interface AppPageData {
  appId: string;
  namespace: string | null;
  appName: string | null;
  executors: ExecutorRow[];
}

/** What the cluster says of an executor's pod while it exists. */
export interface LivePod {
  podName: string;
  node: string | null;
  running: boolean;
}

/**
 * The app page's data from the archive listing, and the executors' pods when known (by executor
 * id; a pod that runs makes its executor live, and an executor with a pod but nothing archived
 * yet is listed too). Every executor gets both stdout and stderr, as Spark links both.
 */
export function appPageData(listing: AppListing | undefined, appId: string, pods: ReadonlyMap<string, LivePod> = new Map()): AppPageData {
  const rows = new Map<string, ExecutorRow>();
  const row = (executorId: string, podName: string | null): ExecutorRow => ({
    executorId,
    podName: pods.get(executorId)?.podName ?? podName,
    node: pods.get(executorId)?.node ?? null,
    state: pods.get(executorId)?.running ? 'live' : 'archived',
    streams: LOG_STREAMS.map((stream) => ({ stream, href: `${LOGS_ROUTE}${appId}/${executorId}/${stream}`, storedBytes: null, firstEventTime: null, lastEventTime: null })),
  });
  for (const e of listing?.executors ?? []) {
    const r = row(e.executorId, e.podName ?? null);
    for (const s of e.streams) {
      const shown = r.streams.find((x) => x.stream === s.stream);
      if (shown) Object.assign(shown, { storedBytes: s.storedBytes, firstEventTime: s.firstEventTime, lastEventTime: s.lastEventTime });
    }
    rows.set(e.executorId, r);
  }
  for (const executorId of pods.keys()) if (!rows.has(executorId)) rows.set(executorId, row(executorId, null));
  return { appId, namespace: listing?.namespace ?? null, appName: listing?.appName ?? null, executors: [...rows.values()] };
}

/** The app page, in the spirit of YARN's container list. */
export function appPage(data: AppPageData, compareExecutors: (a: string, b: string) => number): HttpResult {
  const rows = [...data.executors]
    .sort((a, b) => compareExecutors(a.executorId, b.executorId))
    .map((e) => {
      const streams = e.streams.map(
        (s) => `<td>${link(s.href, s.stream, ` class="stream-${s.stream}"`)} <span class="muted">${s.storedBytes === null ? 'empty' : escapeHtml(formatBytes(s.storedBytes))}</span><br><span class="muted">${escapeHtml(formatTime(s.firstEventTime))} – ${escapeHtml(formatTime(s.lastEventTime))}</span></td>`,
      );
      return `<tr id="executor-${escapeHtml(e.executorId)}"><td>${escapeHtml(e.executorId)}</td><td class="${e.state}">${e.state}</td><td>${escapeHtml(e.podName ?? '—')}</td><td>${escapeHtml(e.node ?? '—')}</td>${streams.join('')}</tr>`;
    })
    .join('\n');
  const title = data.appName ? `${data.appName} (${data.appId})` : data.appId;
  const body = `<h1>${escapeHtml(title)}</h1>
<p class="muted">namespace ${escapeHtml(data.namespace ?? 'unknown')} · ${data.executors.length} executors · ${link(`${LOGS_ROUTE}${data.appId}?format=json`, 'JSON')}</p>
<table id="executors"><thead><tr><th>executor</th><th>state</th><th>pod</th><th>node</th>${LOG_STREAMS.map((s) => `<th>${s}</th>`).join('')}</tr></thead>
<tbody>${rows || '<tr><td colspan="6" class="muted">No executor has logs yet.</td></tr>'}</tbody></table>`;
  return htmlPage({ title: `${title} · logs`, crumbs: crumbs([{ href: LOGS_ROUTE.slice(0, -1), text: 'Logs' }, { text: data.appId }]), body });
}
