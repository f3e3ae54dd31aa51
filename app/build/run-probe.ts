import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const PROBE = join(import.meta.dirname, 'probe.mjs');

/** What app/build/probe.mjs prints, plus the probe process's wall time. */
export interface ProbeResult {
  /** Spawn to exit of the whole `node` process. */
  wallMs: number;
  importMs?: number;
  handlerType?: string;
  firstEventMs?: number;
  result?: unknown;
  error?: { name?: string; message: string };
}

/**
 * Runs `node app/build/probe.mjs [bundle target event]` in a fresh process with `env` added to
 * this one's environment. Without a bundle it imports nothing: the baseline.
 */
export function runProbe(args: { bundle?: string; target?: string; event?: string; env?: Record<string, string> } = {}): ProbeResult {
  const argv = args.bundle ? [PROBE, args.bundle, args.target ?? 'lambda', ...(args.event ? [args.event] : [])] : [PROBE];
  const started = performance.now();
  const run = spawnSync(process.execPath, argv, {
    env: { ...process.env, SPARKFN_LOG_LEVEL: 'silent', NODE_OPTIONS: '', ...args.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const wallMs = performance.now() - started;
  if (run.status !== 0) throw new Error(`probe of ${args.bundle ?? 'nothing'} exited ${run.status}: ${run.stderr}`);
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  return { wallMs, ...(JSON.parse(line) as Omit<ProbeResult, 'wallMs'>) };
}
