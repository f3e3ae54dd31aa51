import { jsonResult } from '../../shared/http/server.js';
import type { HttpResult } from '../../shared/platform/trigger.js';
import type { CostRunSummary } from './handler.js';

/**
 * The answer to `POST /job-cost/app-end`, so that a listener can tell what happened: 200 with
 * the run summary when the app was recorded; 202 when its app id is not known yet (its driver
 * pod's end will record it); 503 when costing failed, posting again later may work: either no
 * source was there yet (the message names the keys looked for, which are the store's own layout)
 * or the store or event log could not be read (details in the server log only, so that an answer
 * never carries the store's endpoint or an error's internals).
 */
export function appEndAnswer(summary: CostRunSummary): HttpResult {
  if (summary.failed > 0) {
    const unsourced = summary.records.filter((r) => r.source === 'none').map((r) => `${r.namespace}/${r.appId}: `);
    const said = summary.failures.filter((sentence) => unsourced.some((prefix) => sentence.startsWith(prefix)));
    const hidden = summary.failed - said.length;
    const message = [
      'Costing failed; post it again later.',
      ...said,
      ...(hidden > 0 ? [`${hidden} app(s) could not be read; the server log has the details.`] : []),
    ].join(' ');
    const { failures: _details, ...counts } = summary;
    return jsonResult(503, { error: { reason: 'not-recorded', message }, ...counts });
  }
  return jsonResult(summary.unresolved > 0 && summary.recorded === 0 ? 202 : 200, summary);
}
