// `npm run bench`: runs every bench/<name>.bench.ts in its own process (so one benchmark's heap
// and JIT state do not colour the next) and prints each one's report. A benchmark always
// compares against a baseline it runs in the same process, and reports the ratio.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
// `npm run bench -- janitor log-archiver --dir /dev/shm`: names choose benchmarks, options go to each.
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const only = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
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
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(dir, file), ...options], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
