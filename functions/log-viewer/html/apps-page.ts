import type { HttpResult } from '../../../shared/platform/trigger.js';
import { LOGS_ROUTE } from '../log-path.js';
import type { RecentApps } from '../recent-apps.js';
import { escapeHtml } from './escape.js';
import { crumbs, formatBytes, formatTime, htmlPage, link } from './layout.js';

/** The page of recent apps: where people start. */
export function appsPage(data: RecentApps, filter: { namespace?: string } = {}): HttpResult {
  const rows = data.apps
    .map(
      (a) => `<tr><td>${escapeHtml(a.namespace ?? '—')}</td><td>${escapeHtml(a.appName ?? '—')}</td><td>${link(a.path, a.appId)}</td>` +
        `<td>${escapeHtml(formatTime(a.lastWritten))}</td><td>${escapeHtml(formatTime(a.firstWritten))}</td><td class="num">${a.objects}</td><td class="num">${escapeHtml(formatBytes(a.storedBytes))}</td></tr>`,
    )
    .join('\n');
  const query = (page: number) => `${LOGS_ROUTE.slice(0, -1)}?${new URLSearchParams({ ...(filter.namespace ? { namespace: filter.namespace } : {}), page: String(page) })}`;
  const pager = [
    data.page > 1 ? link(query(data.page - 1), '← newer', ' rel="prev"') : '',
    `<span>page ${data.page}</span>`,
    data.more ? link(query(data.page + 1), 'older →', ' rel="next"') : '',
  ].join('');
  const body = `<h1>Recent apps</h1>
<form class="search" method="get" action="${escapeHtml(LOGS_ROUTE.slice(0, -1))}"><label>Namespace <input type="text" name="namespace" value="${escapeHtml(filter.namespace ?? '')}"></label> <button type="submit">Filter</button></form>
<table id="apps"><thead><tr><th>namespace</th><th>app name</th><th>app id</th><th>last written</th><th>first written</th><th>objects</th><th>stored</th></tr></thead>
<tbody>${rows || '<tr><td colspan="7" class="muted">No app has logs here yet.</td></tr>'}</tbody></table>
<nav class="pager">${pager}</nav>
${data.complete ? '' : `<p class="muted">Only the first ${data.scannedKeys} stored objects were looked at; apps past them are not listed. Open an app by its id: ${escapeHtml(LOGS_ROUTE)}&lt;appId&gt;.</p>`}`;
  return htmlPage({ title: 'Recent apps · logs', crumbs: crumbs([{ text: 'Logs' }]), body });
}
