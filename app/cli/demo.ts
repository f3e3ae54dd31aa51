import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { errorMessage } from '../../shared/errors.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { createDeps } from '../../shared/platform/runtime.js';
import type { TriggerInput } from '../../shared/platform/trigger.js';
import { createLogger } from '../../shared/logger.js';
import { getBuffer } from '../../shared/store/read.js';
import { formatTable } from '../../shared/text/table.js';

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
}

/** Each function's part of the demo, loaded only when that function is registered. */
const DEMOS: Record<string, (context: DemoContext) => Promise<void>> = {
  'log-archiver': async ({ deps, out }) => (await import('../../functions/log-archiver/demo.js')).demo(deps, out),
  'job-cost': async ({ deps, out }) => void (await (await import('../../functions/job-cost/demo.js')).demo(deps, out)),
  janitor: async ({ config, deps, out }) => (await import('../../functions/janitor/demo.js')).demo(config, deps, out),
  'spot-fallback': async ({ deps, out }) => (await import('../../functions/spot-fallback/demo.js')).demo(deps, out),
  'quota-retry': async ({ deps, out }) => (await import('../../functions/quota-retry/demo.js')).demo(deps, out),
  'spark-monitor': async ({ deps, out }) => void (await (await import('../../functions/spark-monitor/demo.js')).demo(deps, out)),
};

/**
 * `sparkfn demo`: replays events/ through the adapters and every function on the configured
 * (by default embedded filesystem) store, and prints what each did.
 */
export async function runDemo(options: { config: Config; functions: readonly SparkFunction[]; out: (text: string) => void }): Promise<void> {
  const { config, functions, out } = options;
  // The demo prints tables for people; function logs go to stderr so they do not interleave.
  const deps = createDeps(config, { logger: createLogger(config.SPARKFN_LOG_LEVEL === 'info' ? 'warn' : config.SPARKFN_LOG_LEVEL, 2) });
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
  for (const fn of functions) {
    const part = DEMOS[fn.name];
    if (part) {
      await part({ config, deps, out });
    } else {
      const taken = inputs.filter(({ input }) => fn.triggers.includes(input.kind));
      out(`${fn.name}: ${taken.length} sample event(s) it takes (it has no demo of its own)\n`);
    }
  }
}
