import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../functions/log-archiver/dead-letter.js';
import { handler as archiverFc } from '../../functions/log-archiver/fc.js';
import { handler as archiverLambda } from '../../functions/log-archiver/lambda.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { loadEvent, loadEventBytes } from '../support/events.js';
import { APP_ID, keys, tempStore } from './support.js';

// What the platform adapters return for a batch with a poison record, with the configuration read
// from the environment as in production (SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS included). Set before
// the first invocation: settings are read once per process.
let store: FileObjectStore;
let cleanup: () => Promise<void>;
const saved = { store: process.env.SPARKFN_STORE, attempts: process.env.SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS };
beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  process.env.SPARKFN_STORE = `file://${store.dir}`;
  process.env.SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS = '2';
});
afterAll(async () => {
  for (const [name, value] of [['SPARKFN_STORE', saved.store], ['SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS', saved.attempts]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await cleanup();
});

describe('log-archiver adapters with a record that fails every time', () => {
  it('Lambda: resolves with the summary, the poison records dead-lettered after SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS, so the batch is not retried', async () => {
    // Executor 2's chunks cannot be written: logs/<app>/2 is an object, not a folder.
    await store.put(`logs/${APP_ID}/2`, 'in the way');
    const summary = await archiverLambda(loadEvent('lambda/self-managed-kafka'), { getRemainingTimeInMillis: () => 60_000 });
    expect(summary).toMatchObject({ kind: 'archive', records: 3, deadLetters: { 'write-failed': 1 }, retries: 1 });
    const [letterKey] = await keys(store, 'deadletter/');
    const letter = JSON.parse((await getBuffer(store, letterKey!)).toString('utf8')) as DeadLetter;
    expect(letter).toMatchObject({ reason: 'write-failed', attempts: 2 });
    expect((await keys(store, `logs/${APP_ID}/1/`)).length).toBeGreaterThan(0);
  });

  it('FC: resolves with the summary too, the poison record dead-lettered with its error', async () => {
    const summary = await archiverFc(loadEventBytes('fc/eventbridge-kafka'), { function: { timeout: 60 } });
    expect(summary).toMatchObject({ kind: 'archive', records: 3, deadLetters: { 'write-failed': 1 } });
    const letters = await keys(store, 'deadletter/log-archiver/spark-logs/2/');
    expect(letters).toEqual(['deadletter/log-archiver/spark-logs/2/00000000000000000977.json']);
    const letter = JSON.parse((await getBuffer(store, letters[0]!)).toString('utf8')) as DeadLetter;
    expect(letter.detail).toMatch(/after 2 attempt\(s\).*collides with another key/);
  });
});
