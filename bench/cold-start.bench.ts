// Cold start of each built bundle (dist/<target>/<name>/), in fresh `node` processes:
//   entry        bytes of the file the platform loads (and compiles at every cold start)
//   total        bytes of all the bundle's JavaScript: the entry and its chunks/, which hold the
//                code loaded when first needed (source maps and native binaries apart)
//   ready        median wall time of `node probe.mjs <bundle>` (import it, find `handler`, exit)
//   over base    ready minus the median of `node probe.mjs` importing nothing, same run, interleaved
//   import       median time the import itself took, measured inside the process
//   first event  median latency of the first invocation after the import, on a sample from
//                events/ and a fresh filesystem store (app/build/samples.ts)
// Goal (issue 8): total ≤ 2 MB and over-base ≤ 150 ms for every bundle.
// `npm run bench -- cold-start --runs 20`; builds first when a bundle is missing.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAll, bundleCode, discoverFunctions, MAX_BUNDLE_BYTES, TARGETS } from '../app/build/bundle.js';
import { runProbe } from '../app/build/run-probe.js';
import { SAMPLES, sampleFile } from '../app/build/samples.js';

const MAX_OVER_BASELINE_MS = 150;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg === -1 ? 10 : Number(process.argv[runsArg + 1]);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs takes a whole number of runs per bundle, e.g. --runs 10');

const bundles = discoverFunctions().flatMap((name) => TARGETS.map((target) => ({ name, target, file: bundleCode(name, target).entry })));
if (bundles.some((b) => !existsSync(b.file))) {
  console.log('building (dist/ is incomplete)…');
  await bundleAll();
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

// Interleaved rounds, so that load on the machine colours baseline and bundles alike.
const baseline: number[] = [];
const ready = new Map<string, number[]>();
const imported = new Map<string, number[]>();
const firstEvent = new Map<string, number[]>();
const outcome = new Map<string, string>();
for (let round = 0; round < RUNS; round++) {
  baseline.push(runProbe().wallMs);
  for (const b of bundles) {
    const key = `${b.target}/${b.name}`;
    const cold = runProbe({ bundle: b.file, target: b.target });
    if (cold.handlerType !== 'function') throw new Error(`${key}: the bundle exports no handler function`);
    (ready.get(key) ?? ready.set(key, []).get(key)!).push(cold.wallMs);
    (imported.get(key) ?? imported.set(key, []).get(key)!).push(cold.importMs!);

    const sample = SAMPLES[b.name]?.[b.target];
    if (!sample) continue;
    const store = mkdtempSync(join(tmpdir(), 'sparkfn-cold-'));
    try {
      const hot = runProbe({ bundle: b.file, target: b.target, event: sampleFile(sample), env: { SPARKFN_STORE: `file://${store}`, ...sample.env } });
      (firstEvent.get(key) ?? firstEvent.set(key, []).get(key)!).push(hot.firstEventMs!);
      outcome.set(key, hot.error ? `error ${hot.error.name}: ${hot.error.message.slice(0, 60)}` : summarize(hot.result));
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  }
}

function summarize(result: unknown): string {
  if (!result || typeof result !== 'object') return String(result);
  const r = result as Record<string, unknown>;
  if (typeof r.statusCode === 'number') return `HTTP ${r.statusCode}`;
  const counters = Object.entries(r).filter(([, v]) => typeof v === 'number' && v !== 0);
  return counters.length ? counters.slice(0, 3).map(([k, v]) => `${k} ${v}`).join(', ') : 'nothing to do';
}

const base = median(baseline);
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KB`;
const rows = bundles.map((b) => {
  const key = `${b.target}/${b.name}`;
  const { entry, chunks } = bundleCode(b.name, b.target);
  const total = [entry, ...chunks].reduce((sum, file) => sum + statSync(file).size, 0);
  const over = median(ready.get(key)!) - base;
  const sample = SAMPLES[b.name]?.[b.target];
  return {
    bundle: key,
    entry: kb(statSync(entry).size),
    total: kb(total),
    ready: median(ready.get(key)!).toFixed(0),
    over: over.toFixed(0),
    import: median(imported.get(key)!).toFixed(0),
    first: firstEvent.has(key) ? median(firstEvent.get(key)!).toFixed(0) : '-',
    event: sample ? `${sample.event}${sample.note ? ` (${sample.note})` : ''} → ${outcome.get(key)}` : 'no sample',
    ok: total <= MAX_BUNDLE_BYTES && over <= MAX_OVER_BASELINE_MS ? 'yes' : 'NO',
  };
});

const header = { bundle: 'bundle', entry: 'entry', total: 'total', ready: 'ready ms', over: 'over base', import: 'import ms', first: '1st event ms', event: 'first event', ok: 'goal' };
const cols = Object.keys(header) as (keyof typeof header)[];
const width = Object.fromEntries(cols.map((c) => [c, Math.max(header[c].length, ...rows.map((r) => r[c].length))]));
const line = (r: typeof header): string => cols.map((c) => (c === 'bundle' || c === 'event' ? r[c].padEnd(width[c]!) : r[c].padStart(width[c]!))).join('  ');
console.log(`node ${process.version}, ${RUNS} fresh processes per bundle (medians); baseline \`node\` importing nothing: ${base.toFixed(0)} ms`);
console.log(line(header));
for (const r of rows) console.log(line(r));
const missed = rows.filter((r) => r.ok !== 'yes');
console.log(
  missed.length === 0
    ? `every bundle ≤ ${MAX_BUNDLE_BYTES / 1024 / 1024} MB and ≤ ${MAX_OVER_BASELINE_MS} ms over the baseline`
    : `missed the goal: ${missed.map((r) => r.bundle).join(', ')}`,
);
