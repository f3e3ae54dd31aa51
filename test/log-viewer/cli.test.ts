import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run as archive } from '../../functions/log-archiver/handler.js';
import { LogReadError, printLog } from '../../functions/log-viewer/cli.js';
import { run as view } from '../../functions/log-viewer/handler.js';
import { main, type Io } from '../../app/cli/main.js';
import { streamToBuffer } from '../../shared/store/read.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { APP_ID, batch, depsFor, executorLine, record } from '../log-archiver/support.js';

let dir: string;
let store: FileObjectStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-logs-cli-'));
  store = new FileObjectStore(join(dir, 'store'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sparkfn(args: string[]) {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { SPARKFN_STORE: `file://${dir}/store`, SPARKFN_LOG_LEVEL: 'silent' },
    stdin: Readable.from([]),
  };
  const code = await main(['node', 'sparkfn', ...args], io);
  return { code, out, err };
}

// Multi-byte characters everywhere, so that pieces of the stream split them.
const stderrLines = Array.from({ length: 3000 }, (_, i) => `25/05/14 02:15:${String(i % 60).padStart(2, '0')} INFO Executor: task ${i} — ✓ 完成 ${'é'.repeat(i % 7)}`);

async function archiveSample(): Promise<void> {
  const deps = depsFor(store);
  // Two batches that overlap (a re-delivery), stdout on another partition.
  await archive(batch(stderrLines.slice(0, 2000).map((line, i) => record(i, executorLine(line)))), deps);
  await archive(batch(stderrLines.slice(1500).map((line, i) => record(1500 + i, executorLine(line)))), deps);
  await archive(batch([record(0, executorLine('hello from main()', { stream: 'stdout' }), { partition: 1 })]), deps);
}

describe('sparkfn logs', () => {
  it('prints an executor stream, each line once, exactly what the HTTP route serves', async () => {
    await archiveSample();
    const { code, out, err } = await sparkfn(['logs', APP_ID, '1', 'stderr']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe(stderrLines.map((l) => l + '\n').join(''));
    const http = await view({ kind: 'http', source: 'test', method: 'GET', path: `/logs/${APP_ID}/1/stderr`, query: {}, headers: {}, body: Buffer.alloc(0) }, depsFor(store));
    expect((await streamToBuffer(http.body as Readable)).toString('utf8')).toBe(out);
  });

  it('prints stderr when no stream is named, stdout when asked', async () => {
    await archiveSample();
    expect((await sparkfn(['logs', APP_ID, '1'])).out).toBe(stderrLines.map((l) => l + '\n').join(''));
    expect(await sparkfn(['logs', APP_ID, '1', 'stdout'])).toMatchObject({ code: 0, out: 'hello from main()\n' });
  });

  it('prints the last N lines with --tail', async () => {
    await archiveSample();
    expect(await sparkfn(['logs', APP_ID, '1', 'stderr', '--tail', '3'])).toMatchObject({ code: 0, out: stderrLines.slice(-3).map((l) => l + '\n').join('') });
    expect((await sparkfn(['logs', APP_ID, '1', '-n', '1'])).out).toBe(stderrLines.at(-1) + '\n');
  });

  it('exits 1 naming what is unknown, 1 on an unsafe id, 2 on a bad --tail', async () => {
    await archiveSample();
    expect(await sparkfn(['logs', APP_ID, '7'])).toMatchObject({ code: 1, out: '', err: `sparkfn: Nothing is archived for executor 7 of app ${APP_ID}.\n` });
    expect(await sparkfn(['logs', 'spark-nope', '1'])).toMatchObject({ code: 1, err: 'sparkfn: Nothing is archived for app spark-nope.\n' });
    expect(await sparkfn(['logs', APP_ID, '1', 'syslog'])).toMatchObject({ code: 1, err: expect.stringContaining('not "syslog"') });
    const unsafe = await sparkfn(['logs', `${APP_ID}/1`, 'stderr']);
    expect(unsafe).toMatchObject({ code: 1, out: '' });
    expect(unsafe.err).toMatch(/app id .* contains a slash/);
    expect(await sparkfn(['logs', '..', '1'])).toMatchObject({ code: 1, err: expect.stringContaining('relative path segment') });
    for (const tail of ['0', '-1', 'x', '100001']) expect((await sparkfn(['logs', APP_ID, '1', '--tail', tail])).code).toBe(2);
  });

  it('printLog rejects with the status and reason of the route', async () => {
    await archiveSample();
    const error = await printLog({ appId: APP_ID, executorId: 'driver' }, depsFor(store), () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogReadError);
    expect(error).toMatchObject({ status: 404, reason: 'unknown-executor' });
  });
});
