// The newcomer's path (issue 19): a fresh clone, `npm ci && npm start`, then the README's next
// commands in order. The commands come from README.md's quickstart block itself, so the README
// cannot drift from what works: each line must exit 0 and print what its `# prints:` comment says.
// `npm ci` is replaced by a symlink to this checkout's node_modules (the same lockfile; a real
// install would take minutes and the network), everything else runs as written, through `npx
// --no-install`, in a `git clone` of the committed HEAD.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The lines of the README's quickstart block, as `{ command, prints }`. */
interface Step {
  command: string;
  prints: string;
}

/** Reads the fenced block after `<!-- quickstart -->` in README.md. */
function quickstartSteps(readme: string): Step[] {
  const block = /<!-- quickstart[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```sh block after <!-- quickstart -->');
  return block
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = /^(.*?)\s+# prints: (.+)$/.exec(line);
      if (!match) throw new Error(`quickstart line without "# prints: …": ${line}`);
      return { command: match[1]!.trim(), prints: match[2]!.trim() };
    });
}

let clone: string;
let server: ChildProcess | undefined;
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SPARKFN_') && name !== 'KUBECONFIG' && !name.startsWith('npm_')));

beforeAll(async () => {
  clone = join(await mkdtemp(join(tmpdir(), 'sparkfn-quickstart-')), 'clone');
  const cloned = spawnSync('git', ['clone', '--quiet', ROOT, clone], { encoding: 'utf8' });
  if (cloned.status !== 0) throw new Error(`git clone failed: ${cloned.stderr}`);
  await symlink(await realpath(join(ROOT, 'node_modules')), join(clone, 'node_modules'));
});
afterAll(async () => {
  if (server?.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server!.once('exit', resolve));
  }
  if (clone) await rm(join(clone, '..'), { recursive: true, force: true });
});

function sh(command: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Starts a long-running line (`sparkfn serve`) on a free port; resolves to its URL once it listens. */
function startServer(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server = spawn('bash', ['-c', `exec ${command}`], { cwd: clone, env: { ...env, SPARKFN_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const look = (d: Buffer) => {
      out += d.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve(url);
    };
    server.stdout!.on('data', look);
    server.stderr!.on('data', look);
    server.once('exit', (code) => reject(new Error(`${command} exited ${code} before listening:\n${out}`)));
  });
}

describe('README quickstart, in a fresh clone', () => {
  it('every line exits 0 and prints what the README says it prints', async () => {
    const steps = quickstartSteps(await readFile(join(ROOT, 'README.md'), 'utf8'));
    expect(steps[0]!.command).toBe('npm ci && npm start');
    expect(steps.length).toBeGreaterThanOrEqual(6);
    let serverUrl: string | undefined;
    for (const step of steps) {
      const command = step.command.replace(/^npm ci && /, '').replaceAll('http://127.0.0.1:8080', serverUrl ?? 'http://127.0.0.1:8080');
      if (/sparkfn serve$/.test(command)) {
        serverUrl = await startServer(command);
        expect(`listening on ${serverUrl}`).toContain(step.prints.replace('http://127.0.0.1:8080', ''));
        continue;
      }
      const { code, out } = await sh(command);
      expect(code, `${step.command}\n${out}`).toBe(0);
      expect(out, step.command).toContain(step.prints);
    }
  }, 600_000);

  it('the README block is the one the demo ends with: every command it suggests is in it', async () => {
    const steps = quickstartSteps(await readFile(join(ROOT, 'README.md'), 'utf8'));
    const { code, out } = await sh('node app/cli/sparkfn.js demo');
    expect(code).toBe(0);
    const suggested = out
      .slice(out.indexOf('What to try next:'))
      .split('\n')
      .filter((line) => line.startsWith('  npx ') || line.startsWith('  SPARKFN_'))
      .map((line) => line.trim());
    expect(suggested.length).toBeGreaterThan(4);
    for (const command of suggested) expect(steps.map((s) => s.command)).toContain(command);
  }, 120_000);

  it('starts from the compiled copy, and an edit to a source is in the next start (no stale copy runs)', async () => {
    const first = await sh('node app/cli/sparkfn.js --help');
    expect(first.code).toBe(0);
    const manifest = JSON.parse(await readFile(join(clone, '.cache/sparkfn-cli/current.json'), 'utf8')) as { inputs: [string, number, number][] };
    expect(manifest.inputs.map(([path]) => path)).toContain('app/cli/main.ts');

    const main = join(clone, 'app/cli/main.ts');
    await writeFile(main, (await readFile(main, 'utf8')).replace("'Serverless functions for the operations side of Spark on Kubernetes.'", "'Edited in the clone.'"));
    const edited = await sh('node app/cli/sparkfn.js --help');
    expect(edited.code).toBe(0);
    expect(edited.out).toContain('Edited in the clone.');
    expect(first.out).not.toContain('Edited in the clone.');
  }, 120_000);
});
