import { Readable } from 'node:stream';
import { main } from '../../app/cli/main.js';

/** What one in-process `sparkfn` command printed, and its exit code. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs `sparkfn <args>` in this process, as the CLI would, on the filesystem store in `dir`
 * with logs silenced, no kubeconfig and no standard input; `env` adds to or overrides that.
 * @example const { code, out } = await runSparkfn(dir, ['cost', 'report', '-o', 'json']);
 */
export async function runSparkfn(dir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await main(['node', 'sparkfn', ...args], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { SPARKFN_STORE: `file://${dir}/store`, SPARKFN_LOG_LEVEL: 'silent', KUBECONFIG: '', HOME: dir, ...env },
    stdin: Readable.from([]),
  });
  return { code, out, err };
}
