// Start-up of the `sparkfn` command (issue 19), in fresh `node` processes, interleaved rounds:
//   node -e 0          the baseline: a bare node start on this machine, in this run
//   sparkfn --help     `node app/cli/sparkfn.js --help`: the launcher, the hash of the sources,
//                      the compiled copy in .cache/sparkfn-cli/ (commander and the CLI's help only)
//   sparkfn --version  the same path, printing package.json's version
//   tsx --help         the same sources run through tsx (how sparkfn started before: the
//                      TypeScript is compiled, or read from tsx's cache, at every start)
// Goal: the median of `sparkfn --help` within 300 ms of the median of `node -e 0`.
// `npm run bench -- cli-start --runs 20`. The first run after a change to a source compiles the
// copy (about a second, once); the warm-up round below pays it, so it is not in the medians.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAX_OVER_BASELINE_MS = 300;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg === -1 ? 10 : Number(process.argv[runsArg + 1]);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs takes a whole number of runs, e.g. --runs 10');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SPARKFN = fileURLToPath(new URL('../app/cli/sparkfn.js', import.meta.url));
const TSX_MAIN = "const { register } = await import('tsx/esm/api'); register(); const { main } = await import('./app/cli/main.ts'); process.exitCode = await main(['node', 'sparkfn', '--help'], { out: () => {}, err: (t) => process.stderr.write(t), env: process.env, stdin: process.stdin });";

const CASES: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'sparkfn --help': [SPARKFN, '--help'],
  'sparkfn --version': [SPARKFN, '--version'],
  'tsx --help': ['--input-type=module', '-e', TSX_MAIN],
};

function timeOnce(args: string[]): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}: ${run.stderr.toString().slice(0, 400)}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

// Warm-up: compiles the copy when the sources changed, and fills the OS file cache for every case.
for (const args of Object.values(CASES)) timeOnce(args);

const times = new Map<string, number[]>(Object.keys(CASES).map((name) => [name, []]));
for (let round = 0; round < RUNS; round++) {
  for (const [name, args] of Object.entries(CASES)) times.get(name)!.push(timeOnce(args));
}

const base = median(times.get('node -e 0')!);
console.log(`${RUNS} runs each, interleaved; medians:`);
for (const [name, samples] of times) {
  const m = median(samples);
  console.log(`  ${name.padEnd(18)} ${m.toFixed(0).padStart(6)} ms   ×${(m / base).toFixed(2)} of node -e 0   +${(m - base).toFixed(0)} ms`);
}
const over = median(times.get('sparkfn --help')!) - base;
console.log(`sparkfn --help: +${over.toFixed(0)} ms over node -e 0 (goal ≤ ${MAX_OVER_BASELINE_MS} ms): ${over <= MAX_OVER_BASELINE_MS ? 'met' : 'NOT met'}`);
process.exitCode = over <= MAX_OVER_BASELINE_MS ? 0 : 1;
