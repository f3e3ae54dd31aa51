import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { formatQuantity } from '../../shared/text/quantity.js';
import { formatTable } from '../../shared/text/table.js';
import type { Deps } from '../../shared/deps.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import type { HttpResult } from '../../shared/platform/trigger.js';
import { run } from './handler.js';
import { QUEUE_PREFIX, readQueue } from './queue.js';
import { DEFAULT_SETTINGS } from './settings.js';

const EVENTS_DIR = fileURLToPath(new URL('../../events/quota-retry/', import.meta.url));
/** The submission-failure webhook samples: a 403 exceeded quota, and a 409 race with ConfigMap and Service. */
const WEBHOOK_SAMPLES = ['webhook-exceeded-quota.json', 'webhook-conflict-with-dependents.json'];
/**
 * The bearer token the webhook samples carry (events/quota-retry/webhook-*.json). The demo accepts
 * it; `sparkfn invoke` and `serve` accept it once SPARKFN_WEBHOOK_TOKEN says so (the demo prints how).
 */
export const DEMO_WEBHOOK_TOKEN = 'demo-webhook-token-0123456789';

/**
 * quota-retry's part of `npm start` (`sparkfn demo`): posts the webhook samples to the core on
 * the embedded store with no cluster (none is configured for the demo, and it does not pretend to
 * reach one), so each is classified and parked in `queue/pending/`, and prints the queue as a
 * drain would see it. Re-running overwrites the same entries (keys are the submissions').
 */
export async function demo(deps: Deps, out: (text: string) => void): Promise<void> {
  const settings = { ...DEFAULT_SETTINGS, webhookAuth: { token: DEMO_WEBHOOK_TOKEN } };
  const rows: string[][] = [];
  const offline = { ...deps, cluster: undefined };
  for (const file of WEBHOOK_SAMPLES) {
    const input = normalizeTrigger(await readFile(`${EVENTS_DIR}${file}`));
    const result = (await run(input, offline, settings)) as HttpResult;
    const body = JSON.parse(String(result.body)) as { outcome?: string; errorClass?: string; error?: { reason: string } };
    rows.push([file, String(result.status), body.errorClass ?? '', body.outcome ?? body.error?.reason ?? '']);
  }
  out(`\nquota-retry: submission-failure webhook samples, with their bearer token ${DEMO_WEBHOOK_TOKEN} (no cluster configured: classified and queued, not created)\n`);
  out(formatTable(['sample', 'status', 'error class', 'outcome'], rows) + '\n\n');
  const { entries } = await readQueue(deps.store, 'spark-jobs');
  out(`${QUEUE_PREFIX}spark-jobs/, in admission order (priority, then first queued):\n`);
  out(
    formatTable(
      ['submission', 'priority', 'department', 'objects', 'requests.cpu', 'requests.memory', 'enqueued', 'deadline'],
      entries.map((e) => [
        e.submissionId,
        String(e.priority),
        e.department ?? '',
        e.objects.map((o) => o.kind).join('+'),
        formatQuantity('requests.cpu', e.resources['requests.cpu'] ?? ''),
        formatQuantity('requests.memory', e.resources['requests.memory'] ?? ''),
        new Date(e.enqueuedAt).toISOString(),
        new Date(e.deadline).toISOString(),
      ]),
    ) + '\n',
  );
}
