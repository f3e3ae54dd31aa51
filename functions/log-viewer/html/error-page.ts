import type { HttpResult } from '../../../shared/platform/trigger.js';
import { escapeHtml } from './escape.js';
import { crumbs, htmlPage } from './layout.js';
import { LOGS_ROUTE } from '../log-path.js';

/** An error answer (`{ error: { reason, message } }`) as a page for people: same status, same extra headers (WWW-Authenticate, Allow). */
export function errorPage(result: HttpResult): HttpResult {
  let reason = 'error';
  let message = `The request failed (${result.status}).`;
  if (typeof result.body === 'string') {
    try {
      const parsed = JSON.parse(result.body) as { error?: { reason?: string; message?: string } };
      reason = parsed.error?.reason ?? reason;
      message = parsed.error?.message ?? message;
    } catch {
      // Not one of ours: the generic message stands.
    }
  }
  const page = htmlPage({
    status: result.status,
    title: `${result.status} · logs`,
    crumbs: crumbs([{ href: LOGS_ROUTE.slice(0, -1), text: 'Logs' }]),
    body: `<h1>${result.status} ${escapeHtml(reason)}</h1><p class="error" id="error">${escapeHtml(message)}</p>`,
  });
  const { 'content-type': _, ...kept } = result.headers ?? {};
  return { ...page, headers: { ...kept, ...page.headers } };
}
