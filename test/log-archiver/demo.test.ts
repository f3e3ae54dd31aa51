import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demo } from '../../functions/log-archiver/demo.js';
import { main } from '../../app/cli/main.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { EVENTS_DIR } from '../support/events.js';
import { APP_ID, depsFor, keys, withIndexes } from './support.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-archiver-demo-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const message = async (name: string) => (JSON.parse(await readFile(join(EVENTS_DIR, 'filebeat', `${name}.json`), 'utf8')) as { message: string }).message;

describe('log-archiver demo', () => {
  it('archives the samples, compacts the app on its driver pod and prints an executor log read back', async () => {
    const store = new FileObjectStore(dir);
    let out = '';
    await demo(depsFor(store), (t) => void (out += t));
    expect(out).toMatch(/lambda\/msk\.json\s+3\s+2\s+0/);
    expect(out).toMatch(/events\/filebeat\/ \(4 new values, no key\)\s+4\s+4\s+0/);
    expect(out).toContain(`driver pod spark-pi-4f9c2e7a-driver Succeeded → compacted 4 stream(s) of ${APP_ID}: 7 line(s) kept, 0 re-delivered line(s) dropped`);
    expect(out).toContain(`npx --no-install sparkfn logs ${APP_ID} 1 stderr --tail 12`);
    const shown = out.slice(out.indexOf('--tail 12\n') + '--tail 12\n'.length);
    const multiline = await message('container-executor-multiline');
    expect(shown).toContain(`  ${await message('container-executor')}\n`);
    expect(shown).toContain(multiline.split('\n').map((l) => `  ${l}`).join('\n'));
    // Every sample's chunks were compacted into one object per stream.
    // (each with its index beside it)
    const compacted = await keys(store, `logs/${APP_ID}/`);
    expect(compacted.every((k) => /\/(stdout|stderr)\.log\.gz(\.idx\.json)?$/.test(k))).toBe(true);
    expect(compacted).toEqual(withIndexes(compacted.filter((k) => k.endsWith('.log.gz'))));

    // Run again on the same store: the same keys, every line dropped as a re-delivery, the same log.
    let again = '';
    await demo(depsFor(store), (t) => void (again += t));
    expect(again).toContain('7 line(s) kept, 7 re-delivered line(s) dropped');
    expect(again.slice(again.indexOf('--tail 12\n'))).toBe(out.slice(out.indexOf('--tail 12\n')));
  });

  it('is part of sparkfn demo (npm start) with the registered functions', async () => {
    let out = '';
    const code = await main(['node', 'sparkfn', 'demo', '--store', `file://${dir}`], {
      out: (t) => void (out += t),
      err: () => {},
      env: { SPARKFN_LOG_LEVEL: 'silent' },
      stdin: Readable.from([]),
    });
    expect(code).toBe(0);
    expect(out).toContain('log-archiver: Filebeat events from Kafka to per-executor gzip logs');
    expect(out).toContain(`  ${await message('container-executor')}\n`);
  });
});
