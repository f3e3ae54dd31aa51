import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SPARKFN = fileURLToPath(new URL('../../app/cli/sparkfn.js', import.meta.url));
/** USER_HZ: Linux reports CPU times in /proc in hundredths of a second on every architecture we run on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** tsx compiles the sources on start; on a loaded 2-core machine that can take a while. */
const START_TIMEOUT_MS = 60_000;

/** A `sparkfn serve` running in its own process, as operators run it. */
export interface ServeChild {
  url: string;
  port: number;
  pid: number;
  /** Settles when the process ends, with its exit code (null when a signal ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  /** Its log lines (JSON, stdout) and stderr so far. */
  output(): string;
  /** RSS in bytes, from /proc. */
  rss(): number;
  /** CPU time used so far (user + system), in ms, from /proc. */
  cpuMs(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it ended. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node app/cli/sparkfn.js serve --port 0 --host 127.0.0.1` with `env` added to a
 * clean environment (only PATH and HOME are inherited), and resolves once it listens.
 */
export async function startServeChild(env: Record<string, string>): Promise<ServeChild> {
  const child = spawn(process.execPath, [SPARKFN, 'serve', '--port', '0', '--host', '127.0.0.1'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, atMs: performance.now() })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sparkfn serve did not start within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const look = () => {
      const match = /sparkfn serve listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stderr.off('data', look);
        resolve(match[1]!);
      }
    };
    child.stderr.on('data', look);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`sparkfn serve exited before listening:\n${output}`));
    });
  });
  const pid = child.pid!;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    exited,
    output: () => output,
    rss: () => {
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
    },
    cpuMs: () => {
      // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name; in clock ticks (100 per second on Linux).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS_PER_SECOND);
    },
    stop: async (graceMs = 5_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
