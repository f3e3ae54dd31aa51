import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, type Io } from '../../shared/cli/main.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { TriggerInput } from '../../shared/platform/trigger.js';

/** A function defined by the test: it writes what it got to the store, so the CLI's wiring shows. */
const recorder: SparkFunction = {
  name: 'recorder',
  triggers: ['kafka', 'schedule'],
  async run(input: TriggerInput, deps) {
    const summary = input.kind === 'kafka' ? { kind: input.kind, records: input.records.length } : { kind: input.kind };
    await deps.store.put('recorder/last.json', JSON.stringify(summary));
    return summary;
  },
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[], env: NodeJS.ProcessEnv = {}, stdin = '') {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { SPARKFN_STORE: `file://${dir}/store`, SPARKFN_LOG_LEVEL: 'silent', ...env },
    stdin: Readable.from([Buffer.from(stdin)]),
  };
  const code = await main(['node', 'sparkfn', ...args], io, [recorder]);
  return { code, out, err };
}

const fcTimer = JSON.stringify({ triggerTime: '2026-11-23T08:00:00Z', triggerName: 'janitor-timer', payload: '' });

describe('sparkfn invoke', () => {
  it('runs a function on a payload file through the adapter its shape calls for', async () => {
    const event = join(dir, 'timer.json');
    await writeFile(event, fcTimer);
    const { code, out } = await run(['invoke', 'recorder', '--event', event]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ kind: 'schedule' });
    expect(JSON.parse(await readFile(join(dir, 'store', 'recorder', 'last.json'), 'utf8'))).toEqual({ kind: 'schedule' });
  });

  it('reads the payload from standard input with --event -', async () => {
    const { code, out } = await run(['invoke', 'recorder', '--event', '-'], {}, fcTimer);
    expect(code).toBe(0);
    expect(JSON.parse(out).kind).toBe('schedule');
  });

  it('names the shapes it accepts when the payload has an unknown shape', async () => {
    const { code, err } = await run(['invoke', 'recorder', '--event', '-'], {}, JSON.stringify({ hello: 'world' }));
    expect(code).toBe(1);
    expect(err).toMatch(/SelfManagedKafka|MSK/);
    expect(err).toMatch(/timer/i);
    expect(err).toMatch(/kube-eventer/i);
  });

  it('says which functions exist when the name is unknown', async () => {
    const { code, err } = await run(['invoke', 'nope', '--event', '-'], {}, fcTimer);
    expect(code).toBe(1);
    expect(err).toContain('known functions: recorder');
  });

  it('refuses a trigger kind the function does not take', async () => {
    const http = JSON.stringify({ version: '2.0', routeKey: '$default', rawPath: '/x', rawQueryString: '', headers: {}, requestContext: { http: { method: 'GET', path: '/x' } }, isBase64Encoded: false });
    const { code, err } = await run(['invoke', 'recorder', '--event', '-'], {}, http);
    expect(code).toBe(1);
    expect(err).toMatch(/recorder does not take http triggers .*; it takes kafka, schedule/);
  });

  it('exits 2 and names the variable when the configuration is bad', async () => {
    const { code, err } = await run(['invoke', 'recorder', '--event', '-'], { SPARKFN_STORE: 'ftp://x' }, fcTimer);
    expect(code).toBe(2);
    expect(err).toContain('SPARKFN_STORE must be file://<dir> or s3://<bucket>[/prefix]');
  });

  it('exits 1 with a clear error when the event file is missing', async () => {
    const { code, err } = await run(['invoke', 'recorder', '--event', join(dir, 'missing.json')]);
    expect(code).toBe(1);
    expect(err).toMatch(/Cannot read the event from .*missing\.json/);
  });

  it('exits 2 on a usage error', async () => {
    expect((await run(['invoke', 'recorder'])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
  });
});

describe('sparkfn demo', () => {
  it('shows every sample payload going through the adapters and a store round trip', async () => {
    const { code, out } = await run(['demo']);
    expect(code).toBe(0);
    expect(out).toContain(`store: file://`);
    expect(out).toMatch(/lambda\/self-managed-kafka\.json\s+kafka/);
    expect(out).toMatch(/fc\/timer\.json\s+schedule/);
    expect(out).not.toMatch(/\brejected\b/);
    expect(out).toMatch(/wrote, read back .* and deleted/);
    expect(out).toMatch(/recorder: \d+ sample event\(s\) it takes \(it has no demo of its own\)/);
  });
});
