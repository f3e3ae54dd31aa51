import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '../../app/cli/function-names.js';
import { functions } from '../../functions/index.js';
import { readableLogLine } from '../../shared/text/log-line.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SPARKFN = fileURLToPath(new URL('../../app/cli/sparkfn.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `node app/cli/sparkfn.js …` as a user runs it: the launcher, the compiled copy, a real process. */
function sparkfn(...args: string[]) {
  return spawnSync(process.execPath, [SPARKFN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('sparkfn --version and --help', () => {
  it('--version prints the version in package.json and exits 0', () => {
    for (const flag of ['--version', '-V']) {
      const run = sparkfn(flag);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(`${VERSION}\n`);
      expect(run.stderr).toBe('');
    }
  });

  it('--help lists every command and exits 0; a command has its own help', () => {
    const run = sparkfn('--help');
    expect(run.status).toBe(0);
    for (const command of ['invoke', 'serve', 'logs', 'cost', 'janitor', 'doctor', 'deploy', 'demo']) expect(run.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(run.stdout).toMatch(/-V, --version/);
    const invoke = sparkfn('invoke', '--help');
    expect(invoke.status).toBe(0);
    expect(invoke.stdout.replace(/\s+/g, " ")).toContain(`function name (${functions.map((f) => f.name).join(", ")})`);
    const report = sparkfn('cost', 'report', '--help');
    expect(report.stdout).toMatch(/-o, --output <table\|json\|csv\|html>/);
  });

  it('an unknown command or option exits 2', () => {
    expect(sparkfn('frobnicate').status).toBe(2);
    expect(sparkfn('--frobnicate').status).toBe(2);
    expect(sparkfn('doctor', '-o', 'yaml').status).toBe(2);
  });

  it('the names help shows without loading the functions are the functions this package ships', () => {
    expect(FUNCTION_NAMES).toEqual(functions.map((f) => f.name));
  });
});

describe('log lines at a terminal', () => {
  it.each([
    ['{"level":40,"time":"2026-12-06T10:13:57.124Z","app":"sparkfn","breaker":"cn-hangzhou-h/ecs.c6.xlarge","reason":"NoStock","msg":"spot breaker opened"}', '10:13:57 WARN  spot breaker opened breaker=cn-hangzhou-h/ecs.c6.xlarge reason=NoStock\n'],
    ['{"level":30,"time":"2026-12-06T10:13:57.124Z","msg":"run","summary":{"failed":0},"note":"two words"}', '10:13:57 INFO  run summary={"failed":0} note="two words"\n'],
    ['not json', 'not json\n'],
  ])('%s reads as %j', (line, readable) => {
    expect(readableLogLine(line)).toBe(readable);
  });
});

describe('where logs go', () => {
  const event = fileURLToPath(new URL('../../events/janitor/schedule.json', import.meta.url));
  const env = { PATH: process.env.PATH, HOME: ROOT, SPARKFN_LOG_LEVEL: 'info', SPARKFN_STORE: 'file:///tmp/sparkfn-logs-test-store', SPARKFN_K8S_URL: 'http://127.0.0.1:1', SPARKFN_K8S_TOKEN: 't', SPARKFN_JANITOR_QPS: '0' };

  it('to stderr as JSON lines when stderr is not a terminal; stdout holds only the result', () => {
    // janitor against an apiserver that cannot be reached: it logs the failed lists, and exits 1.
    const run = spawnSync(process.execPath, [SPARKFN, 'invoke', 'janitor', '--event', event], { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 });
    expect(() => JSON.parse(run.stdout)).not.toThrow();
    const lines = run.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('sparkfn:'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('msg');
  });

  it('to stderr as readable lines when stderr is a terminal', () => {
    // script(1) gives the command a terminal; its stdout goes to a file, so what the terminal shows is stderr.
    const out = `/tmp/sparkfn-logs-test-${process.pid}.json`;
    const command = `${process.execPath} ${SPARKFN} invoke janitor --event ${event} > ${out}`;
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 });
    const shown = run.stdout.split(/\r?\n/).filter((l) => /^\d\d:\d\d:\d\d (INFO|WARN|ERROR)/.test(l));
    expect(shown.length, run.stdout).toBeGreaterThan(0);
    expect(run.stdout).not.toMatch(/^\{"level"/m);
    try {
      expect(JSON.parse(readFileSync(out, 'utf8'))).toHaveProperty('failed');
    } finally {
      rmSync(out, { force: true });
      rmSync('/tmp/sparkfn-logs-test-store', { recursive: true, force: true });
    }
  });
});
