import { errorResult, jsonResult } from '../../shared/http/server.js';
import type { HttpResult } from '../../shared/platform/trigger.js';
import type { CostRunSummary } from './handler.js';

/**
 * The answer to `POST /job-cost/app-end`, so that a listener can tell what happened: 200 with
 * the run summary when the app was recorded; 202 when its app id is not known yet (its driver
 * pod's end will record it); 503 when costing failed (the store or event log could not be read:
 * posting again later may work). The details of a failure are in the server log, not the answer.
 */
export function appEndAnswer(summary: CostRunSummary): HttpResult {
  if (summary.failed > 0) return errorResult(503, 'not-recorded', 'Costing the app failed; nothing was recorded. Post it again later; the server log has the details.');
  return jsonResult(summary.unresolved > 0 && summary.recorded === 0 ? 202 : 200, summary);
}
