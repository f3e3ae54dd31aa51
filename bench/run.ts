// `npm run bench`: runs every bench/<name>.bench.ts in its own process (so one benchmark's heap
// and JIT state do not colour the next) and prints each one's report. A benchmark always
// compares against a baseline it runs in the same process, and reports the ratio.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)))
  .sort();

if (files.length === 0) {
  console.log(only.length ? `no benchmark matches ${only.join(', ')}` : 'no benchmarks yet');
}
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file}`);
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(dir, file)], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
