import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Deps } from '../../shared/deps.js';
import { localInputSchema } from '../../shared/platform/local.js';
import { formatView } from './format-view.js';
import { SparkModel } from './model.js';
import type { RawObject } from './records.js';
import { DEFAULT_MONITOR_SETTINGS } from './settings.js';
import { readStoreSignals } from './store-signals.js';
import { computeView, type MonitorView } from './view.js';

/** The sample cluster state: a watch's worth of Spark pods, ConfigMaps, Services, Ingresses and a ResourceQuota. */
export const SAMPLE_CLUSTER = fileURLToPath(new URL('../../events/spark-monitor/cluster-state.json', import.meta.url));
/** The moment the sample was taken: the view is shown as of then, so its ages and stuck times read as they did. */
export const SAMPLE_AT = Date.UTC(2026, 11, 6, 12, 0, 0);

/**
 * spark-monitor's part of `sparkfn demo`: the sample cluster state of events/spark-monitor/,
 * fed to the model as serve's watches would, shown as `sparkfn monitor` prints it (with the
 * demo store's quota-retry queue and janitor audit). Resolves to the view.
 */
export async function demo(deps: Deps, out: (text: string) => void): Promise<MonitorView> {
  const input = localInputSchema.parse(JSON.parse(await readFile(SAMPLE_CLUSTER, 'utf8')));
  const model = new SparkModel();
  if (input.kind === 'k8s-objects') for (const change of input.changes) model.apply({ type: change.type, object: change.object as RawObject }, SAMPLE_AT);
  const signals = await readStoreSignals(deps.store, SAMPLE_AT, deps.logger);
  const view = computeView(model, signals, SAMPLE_AT, DEFAULT_MONITOR_SETTINGS);
  out(`\nspark-monitor: the sample cluster state (events/spark-monitor/cluster-state.json) as \`npx sparkfn monitor\` shows a cluster\n\n`);
  out(formatView(view));
  return view;
}
