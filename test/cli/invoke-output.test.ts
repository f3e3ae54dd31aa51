import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compactApp, run as archiverRun } from '../../functions/log-archiver/handler.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import { fn as logViewer } from '../../functions/log-viewer/handler.js';
import { main, type Io } from '../../app/cli/main.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { loadEvent } from '../support/events.js';
import { APP_ID, batch, depsFor, executorLine, record } from '../log-archiver/support.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-invoke-output-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function invoke(event: unknown) {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { SPARKFN_STORE: `file://${dir}`, SPARKFN_LOG_LEVEL: 'silent' },
    stdin: Readable.from([Buffer.from(JSON.stringify(event))]),
  };
  const code = await main(['node', 'sparkfn', 'invoke', 'log-viewer', '--event', '-'], io, [logViewer]);
  return { code, out, err };
}

describe('sparkfn invoke log-viewer', () => {
  it('prints the log text in the body, not a byte array or a stream object', async () => {
    const deps = depsFor(new FileObjectStore(dir));
    await archiverRun(batch([record(0, executorLine('first line')), record(1, executorLine('second line'))]), deps, {});
    await compactApp(APP_ID, deps, DEFAULT_SETTINGS);
    for (const [name, change] of [
      ['a stream (the whole log)', (e: { rawQueryString: string; queryStringParameters: Record<string, string> }) => ((e.rawQueryString = ''), (e.queryStringParameters = {}))],
      ['a buffer (?tail)', () => undefined],
    ] as const) {
      const event = loadEvent('lambda/http-api-v2') as { rawQueryString: string; queryStringParameters: Record<string, string> };
      change(event);
      const { code, out, err } = await invoke(event);
      expect(code, `${name}: ${err}`).toBe(0);
      const printed = JSON.parse(out) as { status: number; headers: Record<string, string>; body: string };
      expect(printed.status, name).toBe(200);
      expect(printed.body, name).toBe('first line\nsecond line\n');
    }
  });

  it('prints a gzip download as base64, flagged as such', async () => {
    const deps = depsFor(new FileObjectStore(dir));
    await archiverRun(batch([record(0, executorLine('zipped'))]), deps, {});
    const event = loadEvent('lambda/http-api-v2') as { rawQueryString: string; queryStringParameters: Record<string, string> };
    event.rawQueryString = 'download=1';
    event.queryStringParameters = { download: '1' };
    const { code, out } = await invoke(event);
    expect(code).toBe(0);
    const printed = JSON.parse(out) as { body: string; isBase64Encoded?: boolean };
    expect(printed.isBase64Encoded).toBe(true);
    expect(gunzipSync(Buffer.from(printed.body, 'base64')).toString()).toBe('zipped\n');
  });
});
