import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main, type Io } from '../../app/cli/main.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { TriggerInput } from '../../shared/platform/trigger.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

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

/** Runs sparkfn with `functions` (default: the real ones), the test store and `env`. */
async function sparkfn(args: string[], env: NodeJS.ProcessEnv = {}, options: { stdin?: string; functions?: SparkFunction[] } = {}) {
  let out = '';
  let err = '';
  const streams: Io = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { SPARKFN_STORE: `file://${dir}/store`, SPARKFN_LOG_LEVEL: 'silent', ...env },
    stdin: Readable.from([Buffer.from(options.stdin ?? '')]),
  };
  const code = options.functions ? await main(['node', 'sparkfn', ...args], streams, options.functions) : await main(['node', 'sparkfn', ...args], streams);
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

  it('names the shapes it accepts when the payload has an unknown shape, and exits 2', async () => {
    const { code, err } = await run(['invoke', 'recorder', '--event', '-'], {}, JSON.stringify({ hello: 'world' }));
    expect(code).toBe(2);
    expect(err).toMatch(/SelfManagedKafka|MSK/);
    expect(err).toMatch(/timer/i);
    expect(err).toMatch(/kube-eventer/i);
  });

  it('says which functions exist when the name is unknown, and exits 2', async () => {
    const { code, err } = await run(['invoke', 'nope', '--event', '-'], {}, fcTimer);
    expect(code).toBe(2);
    expect(err).toContain('known functions: recorder');
  });

  it('refuses a trigger kind the function does not take', async () => {
    const http = JSON.stringify({ version: '2.0', routeKey: '$default', rawPath: '/x', rawQueryString: '', headers: {}, requestContext: { http: { method: 'GET', path: '/x' } }, isBase64Encoded: false });
    const { code, err } = await run(['invoke', 'recorder', '--event', '-'], {}, http);
    expect(code).toBe(2);
    expect(err).toMatch(/recorder does not take http triggers .*; it takes kafka, schedule/);
  });

  it('exits 2 and names the variable when the configuration is bad', async () => {
    const { code, err } = await run(['invoke', 'recorder', '--event', '-'], { SPARKFN_STORE: 'ftp://x' }, fcTimer);
    expect(code).toBe(2);
    expect(err).toContain('SPARKFN_STORE must be file://<dir> or s3://<bucket>[/prefix]');
  });

  it('exits 2 with a clear error when the event file is missing', async () => {
    const { code, err } = await run(['invoke', 'recorder', '--event', join(dir, 'missing.json')]);
    expect(code).toBe(2);
    expect(err).toMatch(/Cannot read the event from .*missing\.json/);
  });

  it('exits 2 when the event file is not JSON, and runs nothing', async () => {
    const event = join(dir, 'event.txt');
    await writeFile(event, 'triggerTime: yesterday');
    const { code, err } = await run(['invoke', 'recorder', '--event', event]);
    expect(code).toBe(2);
    expect(err).toMatch(/The event in .*event\.txt cannot be used: .*JSON/);
    await expect(readFile(join(dir, 'store', 'recorder', 'last.json'))).rejects.toThrow(/ENOENT/);
  });

  it('exits 1, after printing the answer, when the function answered 4xx (a webhook sample without its token)', async () => {
    const sample = new URL('../../events/quota-retry/webhook-exceeded-quota.json', import.meta.url).pathname;
    const { code, out, err } = await sparkfn(['invoke', 'quota-retry', '--event', sample]);
    expect(JSON.parse(out).status).toBe(401);
    expect(code).toBe(1);
    expect(err).toMatch(/quota-retry answered 401/);
  });

  it('exits 1 when the function answered 5xx', async () => {
    const failing: SparkFunction = { name: 'failing', triggers: ['http'], run: async () => ({ status: 503, body: JSON.stringify({ error: { reason: 'store-down', message: 'The store is down.' } }) }) };
    const http = JSON.stringify({ kind: 'http', source: 'local', method: 'POST', path: '/x', query: {}, headers: {}, body: '' });
    const { code, err } = await sparkfn(['invoke', 'failing', '--event', '-'], {}, { stdin: http, functions: [failing] });
    expect(code).toBe(1);
    expect(err).toBe('sparkfn: failing answered 503: The store is down.\n');
  });

  it('exits 0 when the function answered 2xx', async () => {
    const answering: SparkFunction = { name: 'answering', triggers: ['http'], run: async () => ({ status: 202, body: 'queued' }) };
    const http = JSON.stringify({ kind: 'http', source: 'local', method: 'POST', path: '/x', query: {}, headers: {}, body: '' });
    const { code, out } = await sparkfn(['invoke', 'answering', '--event', '-'], {}, { stdin: http, functions: [answering] });
    expect(code).toBe(0);
    expect(JSON.parse(out).status).toBe(202);
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

describe('exit codes (issue #14): 2 for usage and configuration, 1 when the work failed, 0 when it was done', () => {
  let apiserver: TestApiserver;
  beforeAll(async () => {
    apiserver = await startTestApiserver();
  });
  afterAll(async () => {
    await apiserver?.stop();
  });
  const cluster = () => ({ SPARKFN_K8S_URL: apiserver.url, SPARKFN_K8S_TOKEN: apiserver.token, SPARKFN_JANITOR_QPS: '0' });

  const commands: [string, string[]][] = [
    ['invoke', ['invoke', 'recorder', '--event', '-']],
    ['logs', ['logs', 'spark-1', '1']],
    ['cost report', ['cost', 'report']],
    ['janitor', ['janitor', '--dry-run']],
    ['doctor', ['doctor']],
  ];
  const badConfig: [string, NodeJS.ProcessEnv, RegExp][] = [
    ['a boolean that is not true/false', { SPARKFN_DRY_RUN: 'yes' }, /SPARKFN_DRY_RUN must be true or false/],
    ['SPARKFN_KAFKA_BROKERS set but empty', { SPARKFN_KAFKA_BROKERS: '' }, /SPARKFN_KAFKA_BROKERS must list at least one broker/],
    ['a broker without a port', { SPARKFN_KAFKA_BROKERS: 'kafka-0:9092,kafka-1' }, /"kafka-1" is not/],
  ];
  it.each(commands.flatMap(([name, args]) => badConfig.map(([what, env, message]) => [name, what, args, env, message] as const)))(
    '%s exits 2 on %s, naming the variable',
    async (_, __, args, env, message) => {
      const { code, err } = await sparkfn(args, { ...cluster(), ...env }, { stdin: fcTimer, functions: [recorder] });
      expect(code).toBe(2);
      expect(err).toMatch(message);
    },
  );

  describe('cost report', () => {
    it.each([
      ['a month that does not exist', ['--from', '2026-13-01'], /--from must be a day as YYYY-MM-DD.*"2026-13-01"/],
      ['a day that does not exist', ['--to', '2026-02-30'], /--to must be a day/],
      ['--from after --to', ['--from', '2026-03-02', '--to', '2026-03-01'], /--from 2026-03-02 is after --to 2026-03-01/],
      ['--by team', ['--by', 'team'], /--by must be namespace, day or label:<key>, not "team"/],
      ['--format xml', ['--format', 'xml'], /-o \(--format\) takes one of table, csv, json, html, not "xml"/],
    ])('exits 2 on %s', async (_, options, message) => {
      const { code, err, out } = await sparkfn(['cost', 'report', ...options]);
      expect(code).toBe(2);
      expect(err).toMatch(message);
      expect(out).toBe('');
    });

    it('exits 0 when the report was made, even with no records', async () => {
      const { code, out } = await sparkfn(['cost', 'report', '--from', '2026-02-01', '--to', '2026-02-28', '--format', 'json']);
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ from: '2026-02-01', to: '2026-02-28', rows: [] });
    });
  });

  describe('janitor', () => {
    it('exits 1, and does not say nothing is due, when the apiserver cannot be reached', async () => {
      const { code, out, err } = await sparkfn(['janitor', '--dry-run'], { SPARKFN_K8S_URL: 'http://127.0.0.1:1', SPARKFN_K8S_TOKEN: 'token', SPARKFN_JANITOR_QPS: '0' });
      expect(code).toBe(1);
      expect(out).not.toContain('Nothing is due.');
      expect(out).toMatch(/Nothing was cleaned, and the run failed/);
      expect(err).toMatch(/janitor: .*error\(s\), first: list pods in all namespaces/);
    });

    it('exits 1 when one list failed', async () => {
      apiserver.faults.internalError(100, { verb: 'list', resource: 'configmaps' });
      try {
        const { code, out, err } = await sparkfn(['janitor', '--dry-run'], cluster());
        expect(code).toBe(1);
        expect(out).toMatch(/error: list configmaps in all namespaces/);
        expect(err).toMatch(/janitor: .*list configmaps/);
      } finally {
        apiserver.faults.reset();
      }
    });

    it('exits 0 when the run did its work, even with nothing due', async () => {
      const { code, out } = await sparkfn(['janitor', '--dry-run'], cluster());
      expect(code).toBe(0);
      expect(out).toContain('Nothing is due.');
    });
  });

  describe('logs', () => {
    it('exits 1 when the app has no archived logs', async () => {
      const { code, err } = await sparkfn(['logs', 'spark-unknown', '1']);
      expect(code).toBe(1);
      expect(err).toMatch(/Nothing is archived for app spark-unknown/);
    });

    it('exits 2 on a --tail that is not a number of lines', async () => {
      const { code, err } = await sparkfn(['logs', 'spark-1', '1', '--tail', '0']);
      expect(code).toBe(2);
      expect(err).toMatch(/number of lines/);
    });
  });

  describe('doctor', () => {
    it('exits 1 when a needed part fails (the store cannot be written)', async () => {
      await writeFile(join(dir, 'a-file'), 'not a folder');
      const { code, err } = await sparkfn(['doctor', '--timeout', '2000'], { SPARKFN_STORE: `file://${dir}/a-file/store` });
      expect(code).toBe(1);
      expect(err).toMatch(/doctor: \d+ check\(s\) failed: store/);
    });
  });
});
