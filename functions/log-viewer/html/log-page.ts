import type { HttpResult } from '../../../shared/platform/trigger.js';
import type { LogStream } from '../../log-archiver/identity.js';
import { LOGS_ROUTE } from '../log-path.js';
import type { SearchResult } from '../log-search.js';
import type { LogWindow } from '../log-window.js';
import { MAX_CONTEXT_LINES } from '../search-query.js';
import { ansiToHtml, escapeHtml } from './escape.js';
import { FOLLOW_SCRIPT } from './follow-script.js';
import { crumbs, formatBytes, htmlPage, link } from './layout.js';

/** Context choices the search form offers. */
const CONTEXT_CHOICES = [0, 2, 5, MAX_CONTEXT_LINES];

/** What the log page shows: one window of the log, or the results of a search over it. */
export interface LogPageData {
  appId: string;
  executorId: string;
  stream: LogStream;
  /** Bytes per page of "earlier" / "later". */
  pageBytes: number;
  /** The pod still writes this log: offer "Follow" with this URL (the log with `?follow=1`). */
  followUrl?: string;
  window?: LogWindow;
  /** `from` and `to`: the time range searched, as typed (ISO 8601 times), when there was one. */
  search?: { result: SearchResult; form: { grep: string; regex: boolean; ignoreCase: boolean; context: number; from?: string; to?: string } };
}

/** The log page: numbered lines (ANSI colours as spans, everything escaped), paging, search, follow, download. */
export function logPage(data: LogPageData): HttpResult {
  const path = `${LOGS_ROUTE}${data.appId}/${data.executorId}/${data.stream}`;
  const form = data.search?.form;
  const searchForm = `<form class="search" method="get" action="${escapeHtml(path)}" role="search">
<input type="text" name="grep" id="grep" placeholder="search this log" value="${escapeHtml(form?.grep ?? '')}" required>
<label><input type="checkbox" name="regex" value="1"${form?.regex ? ' checked' : ''}> regex</label>
<label><input type="checkbox" name="ignoreCase" value="1"${form?.ignoreCase ? ' checked' : ''}> ignore case</label>
<label>context <select name="context">${CONTEXT_CHOICES.map((n) => `<option${n === (form?.context ?? 2) ? ' selected' : ''}>${n}</option>`).join('')}</select></label>
<label>from <input type="text" name="from" id="from" size="22" placeholder="2025-05-14T02:15:00Z" value="${escapeHtml(form?.from ?? '')}"></label>
<label>to <input type="text" name="to" id="to" size="22" placeholder="(ISO time, optional)" value="${escapeHtml(form?.to ?? '')}"></label>
<button type="submit" id="search">Search</button></form>`;
  const tools = [
    link(`${path}?download=1`, 'download .gz', ' id="download"'),
    link(`${path}?format=text`, 'plain text', ' id="plain"'),
    data.followUrl ? `<button type="button" id="follow" data-url="${escapeHtml(data.followUrl)}">Follow</button> <span id="follow-status" class="muted"></span>` : '',
  ].join(' · ');
  let content = '';
  if (data.window) {
    const w = data.window;
    const earlierStart = Math.max(0, w.start - data.pageBytes);
    const pager = [
      w.start > 0 ? link(`${path}?start=${earlierStart}&end=${w.start - 1}`, '← earlier', ' id="earlier" rel="prev"') : '<span class="muted">start of log</span>',
      w.end < w.size - 1 ? link(`${path}?start=${w.end + 1}&end=${Math.min(w.size - 1, w.end + data.pageBytes)}`, 'later →', ' id="later" rel="next"') + ' ' + link(path, 'end', ' id="end"') : '<span class="muted">end of log</span>',
    ].join(' ');
    const shown = w.lines.length === 0 ? 'no lines' : `lines ${w.firstLine}–${w.firstLine + w.lines.length - 1}`;
    const lines = w.lines.map((text, i) => `<span class="l" id="L${w.firstLine + i}"><span class="n">${w.firstLine + i}</span>${ansiToHtml(text)}</span>`).join('');
    content = `<p class="muted">${shown}, bytes ${w.lines.length === 0 ? '—' : `${w.start}–${w.end}`} of ${escapeHtml(formatBytes(w.size))}</p>
<nav class="pager">${pager}</nav>
<pre class="log" id="log" data-next="${w.firstLine + w.lines.length}">${lines}</pre>
<nav class="pager">${pager}</nav>`;
  } else if (data.search) {
    const r = data.search.result;
    const hunks = r.hunks
      .map((hunk) => hunk.map((l) => `<span class="l${l.match ? ' hit' : ''}"><span class="n">${l.n}</span>${escapeHtml(l.text)}</span>`).join(''))
      .join('<span class="l sep">--</span>');
    const stopped = r.truncated ? ` <span class="error">Stopped early (${r.truncated === 'time-budget' ? 'time limit' : 'match limit'}) after ${r.linesSearched} lines.</span>` : '';
    const ranged = form?.from || form?.to
      ? ` Searched: the archived members with event times from ${escapeHtml(form.from || 'the start')} to ${escapeHtml(form.to || 'the end')} (whole members, so lines near either end may lie outside it; not the live pod log; line numbers count from the first line searched).`
      : '';
    content = `<p id="search-summary">${r.matches} matching lines in ${r.linesSearched} lines searched.${ranged}${stopped} ${link(path, 'back to the log')}</p>
<pre class="log" id="results">${hunks}</pre>`;
  }
  const title = `${data.executorId} ${data.stream} · ${data.appId}`;
  const body = `<h1>executor ${escapeHtml(data.executorId)} · ${escapeHtml(data.stream)}</h1>
<p>${tools}</p>
${searchForm}
${content}`;
  return htmlPage({
    title,
    crumbs: crumbs([{ href: LOGS_ROUTE.slice(0, -1), text: 'Logs' }, { href: `${LOGS_ROUTE}${data.appId}`, text: data.appId }, { text: `${data.executorId} ${data.stream}` }]),
    body,
    ...(data.followUrl && { script: FOLLOW_SCRIPT }),
  });
}
