import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Deps } from '../../shared/deps.js';
import { formatBytes, formatCpu } from '../../shared/text/quantity.js';
import { formatTable } from '../../shared/text/table.js';
import { getBuffer } from '../../shared/store/read.js';
import type { CostRecord } from './cost-record.js';
import { run } from './handler.js';
import { loadPriceFile } from './price-file.js';
import { DEFAULT_SETTINGS } from './settings.js';

/** A real Spark event log (Apache Spark's test resources, Apache-2.0) shipped as sample data. */
export const DEMO_EVENT_LOG = fileURLToPath(new URL('../../events/job-cost/data/application_1578436911597_0052', import.meta.url));
export const DEMO_APP_ID = 'application_1578436911597_0052';
/**
 * The demo's namespace: its own, so that invoking the samples in events/job-cost/ (namespace
 * spark-jobs, maybe without a price file) never rewrites the demo's priced record.
 */
export const DEMO_NAMESPACE = 'spark-demo';
/** When the sample app ended (its SparkListenerApplicationEnd); the demo replays it as ended this long ago. */
const SAMPLE_END_MS = 1578764802615;
const ENDED_AGO_MS = 5 * 60_000;
/** The event log's epoch-millisecond times (Spark's JsonProtocol names); 0 means "not yet" and stays 0. */
const EVENT_LOG_TIMES = /"(Timestamp|Submission Time|Completion Time|Launch Time|Finish Time)":(\d{13})\b/g;
export const EXAMPLE_PRICE_FILE = fileURLToPath(new URL('../../deploy/prices.example.yaml', import.meta.url));

/** The event log with its times moved by `offsetMs`, so the sample app ran just now. */
export function shiftEventLog(text: string, offsetMs: number): string {
  return text.replace(EVENT_LOG_TIMES, (_, name: string, ms: string) => `"${name}":${Number(ms) + offsetMs}`);
}

/**
 * `sparkfn demo`'s job-cost part: puts a real event log into the store (its times moved so that
 * the app ended five minutes ago, in namespace DEMO_NAMESPACE), costs it with the
 * example price file (sample numbers) through the listener's POST, and prints the record as a table.
 * @example await demo(deps, (t) => process.stdout.write(t));
 */
export async function demo(deps: Deps, out: (text: string) => void): Promise<CostRecord> {
  const prices = await loadPriceFile(EXAMPLE_PRICE_FILE);
  await deps.store.put(`${DEFAULT_SETTINGS.eventLogPrefix}${DEMO_APP_ID}`, shiftEventLog(await readFile(DEMO_EVENT_LOG, 'utf8'), deps.clock.now() - ENDED_AGO_MS - SAMPLE_END_MS));
  const body = JSON.stringify({ appId: DEMO_APP_ID, namespace: DEMO_NAMESPACE });
  const summary = await run({ kind: 'http', source: 'demo', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {}, body: Buffer.from(body) }, deps, { ...DEFAULT_SETTINGS, prices });
  const key = summary.records[0]!.key;
  const record = JSON.parse((await getBuffer(deps.store, key)).toString('utf8')) as CostRecord;
  const c = record.cost;
  out(`job-cost: ${DEMO_APP_ID} (a real Spark event log) with ${EXAMPLE_PRICE_FILE.split('/').slice(-2).join('/')} (sample prices) → ${key}\n`);
  out(
    formatTable(
      ['pod', 'seconds', 'cpu', 'memory', 'spec', `on-demand (${c?.currency ?? '-'})`, 'spot (upper)'],
      record.pods.map((p) => [p.role === 'driver' ? 'driver' : `executor ${p.executorId}`, p.seconds.toFixed(1), formatCpu(p.vcpu), formatBytes(p.gib * 2 ** 30), p.spec ?? '-', (p.onDemand ?? 0).toFixed(6), (p.spotUpper ?? 0).toFixed(6)]),
    ) + '\n',
  );
  out(`total ${c?.total.toFixed(6) ?? '-'} ${c?.currency ?? ''}; executors ${record.executors}, ${record.vcpuSeconds} vCPU-s, source ${record.source}${record.errors.length ? `; errors: ${record.errors.join(' ')}` : ''}\n`);
  return record;
}
