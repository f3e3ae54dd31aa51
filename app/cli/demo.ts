import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_STORE, type Config } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { errorMessage } from '../../shared/errors.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { createDeps } from '../../shared/platform/runtime.js';
import type { TriggerInput } from '../../shared/platform/trigger.js';
import { createLogger } from '../../shared/logger.js';
import { getBuffer } from '../../shared/store/read.js';
import { SPARKFN_COMMAND } from '../../shared/text/command-name.js';
import { formatTable } from '../../shared/text/table.js';
import type { ShownLog } from '../../functions/log-archiver/demo.js';

/** The repository's events/ folder, found from this file so the demo works from any directory. */
export const EVENTS_DIR = fileURLToPath(new URL('../../events/', import.meta.url));
/**
 * Folders of events/ whose files are contents, not trigger payloads: Filebeat events that travel
 * inside Kafka records, and any `data/` folder (price files, manifests, AdmissionReview bodies).
 */
export const CONTENT_DIRS: ReadonlySet<string> = new Set(['filebeat', 'data']);

/** Whether `relativePath` (under events/) is a trigger payload sample. */
export function isTriggerSample(relativePath: string): boolean {
  return relativePath.endsWith('.json') && !relativePath.split('/').slice(0, -1).some((dir) => CONTENT_DIRS.has(dir));
}
/** Widest a table cell gets before it is cut, so one long error does not stretch the table. */
const CELL_WIDTH = 110;

function oneLine(text: string): string {
  const first = text.split('\n')[0]!;
  return first.length > CELL_WIDTH ? first.slice(0, CELL_WIDTH - 1) + '…' : first;
}

async function* eventFiles(dir: string): AsyncGenerator<string> {
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!CONTENT_DIRS.has(entry.name)) yield* eventFiles(path);
    }
    else if (entry.name.endsWith('.json')) yield path;
  }
}

function describe(input: TriggerInput): string {
  switch (input.kind) {
    case 'kafka':
      return `${input.records.length} record(s) from ${input.source}`;
    case 'k8s-events':
      return `${input.events.length} event(s): ${[...new Set(input.events.map((e) => e.reason))].join(', ')}`;
    case 'http':
      return `${input.method} ${input.path}`;
    case 'schedule':
      return `timer at ${new Date(input.time).toISOString()}`;
    case 'k8s-objects':
      return input.changes.map((c) => `${c.type} ${c.object.kind} ${c.object.metadata.namespace ?? ''}/${c.object.metadata.name}`).join(', ');
  }
}

interface DemoContext {
  config: Config;
  deps: Deps;
  out: (text: string) => void;
  /** What the parts left for the closing "try next" list. */
  found: DemoFindings;
}

/** What the demo made that the next commands can look at. */
interface DemoFindings {
  log?: ShownLog;
  costRecord?: { namespace: string };
  webhookToken?: string;
}

/** Each function's part of the demo, loaded only when that function is registered. */
const DEMOS: Record<string, (context: DemoContext) => Promise<void>> = {
  'log-archiver': async ({ deps, out, found }) => {
    const log = await (await import('../../functions/log-archiver/demo.js')).demo(deps, out);
    if (log) found.log = log;
  },
  'job-cost': async ({ deps, out, found }) => {
    const { demo, DEMO_NAMESPACE } = await import('../../functions/job-cost/demo.js');
    const record = await demo(deps, out);
    if (record.cost) found.costRecord = { namespace: DEMO_NAMESPACE };
  },
  janitor: async ({ config, deps, out }) => (await import('../../functions/janitor/demo.js')).demo(config, deps, out),
  'spot-fallback': async ({ deps, out }) => (await import('../../functions/spot-fallback/demo.js')).demo(deps, out),
  'quota-retry': async ({ deps, out, found }) => {
    const { demo, DEMO_WEBHOOK_TOKEN } = await import('../../functions/quota-retry/demo.js');
    await demo(deps, out);
    found.webhookToken = DEMO_WEBHOOK_TOKEN;
  },
  'spark-monitor': async ({ deps, out }) => void (await (await import('../../functions/spark-monitor/demo.js')).demo(deps, out)),
};

/**
 * The closing list: commands that show more of what the demo just made, each of which works on
 * the demo's store as it is (test/cli/quickstart.test.ts runs them).
 */
function tryNext(config: Config, found: DemoFindings): string {
  // The demo's store is the default one unless it was given; the next commands must read the same.
  const store = config.SPARKFN_STORE === DEFAULT_STORE ? '' : `SPARKFN_STORE=${config.SPARKFN_STORE} `;
  const base = `http://${config.SPARKFN_HOST}:${config.SPARKFN_PORT}`;
  const rows: [string, string][] = [];
  if (found.costRecord) {
    rows.push([`${store}${SPARKFN_COMMAND} cost report`, `the demo's cost record (namespace ${found.costRecord.namespace}) in the report of the last 30 days; -o json for programs`]);
    rows.push([`${store}${SPARKFN_COMMAND} cost report -o html --out cost-report.html`, 'the same report as one page to open in a browser']);
  }
  if (found.log) {
    rows.push([`${store}${SPARKFN_COMMAND} logs ${found.log.appId}`, 'the executors and streams archived for the demo app']);
    rows.push([`${store}${SPARKFN_COMMAND} logs ${found.log.appId} ${found.log.executorId} ${found.log.stream} --tail 8`, `the end of executor ${found.log.executorId}'s ${found.log.stream}`]);
    rows.push([`${store}${SPARKFN_COMMAND} serve`, `every function over HTTP; then open ${base}${found.log.path} (the log page the Spark UI links to)`]);
  }
  if (found.webhookToken) {
    rows.push([`SPARKFN_WEBHOOK_TOKEN=${found.webhookToken} ${store}${SPARKFN_COMMAND} invoke quota-retry --event events/quota-retry/webhook-exceeded-quota.json`, 'a webhook sample with the token it carries: 202, queued']);
  }
  rows.push([`${store}${SPARKFN_COMMAND} doctor`, 'what works in this configuration, and what to set next']);
  return `What to try next:\n${rows.map(([command, what]) => `  ${command}\n      ${what}\n`).join('')}`;
}

/**
 * `sparkfn demo`: replays events/ through the adapters and every function on the configured
 * (by default embedded filesystem) store, and prints what each did.
 */
export async function runDemo(options: { config: Config; functions: readonly SparkFunction[]; out: (text: string) => void }): Promise<void> {
  const { config, functions, out } = options;
  // The demo prints tables for people, and what its functions would warn about (breakers opened,
  // submissions queued without a cluster) is what those tables show: at the default level only
  // errors are logged (to stderr), so nothing lands between the tables on a terminal.
  const deps = createDeps(config, { logger: createLogger(config.SPARKFN_LOG_LEVEL === 'info' ? 'error' : config.SPARKFN_LOG_LEVEL) });
  out(`sparkfn demo — store: ${deps.store.url}\n\n`);

  const rows: string[][] = [];
  const inputs: { file: string; input: TriggerInput }[] = [];
  for await (const path of eventFiles(EVENTS_DIR)) {
    const file = relative(EVENTS_DIR, path);
    try {
      const input = normalizeTrigger(await readFile(path));
      inputs.push({ file, input });
      rows.push([file, input.kind, oneLine(describe(input))]);
    } catch (err) {
      rows.push([file, 'rejected', oneLine(errorMessage(err))]);
    }
  }
  out('Trigger payloads in events/, through the platform adapters:\n');
  out(formatTable(['event', 'becomes', 'what'], rows) + '\n\n');

  const probe = `demo/probe-${deps.clock.now()}.txt`;
  await deps.store.put(probe, 'written by sparkfn demo\n', { contentType: 'text/plain' });
  const back = (await getBuffer(deps.store, probe)).toString('utf8');
  await deps.store.delete(probe);
  out(`Object store: wrote, read back (${JSON.stringify(back.trim())}) and deleted ${probe}.\n\n`);

  if (functions.length === 0) {
    out('No functions are registered yet: the plumbing above is what runs.\n');
    return;
  }
  const found: DemoFindings = {};
  for (const fn of functions) {
    const part = DEMOS[fn.name];
    if (part) {
      await part({ config, deps, out, found });
    } else {
      const taken = inputs.filter(({ input }) => fn.triggers.includes(input.kind));
      out(`${fn.name}: ${taken.length} sample event(s) it takes (it has no demo of its own)\n`);
    }
  }
  out('\n' + tryNext(config, found));
}
