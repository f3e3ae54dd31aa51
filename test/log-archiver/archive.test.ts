import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chunkKey } from '../../functions/log-archiver/chunk-key.js';
import { deadLetterKey, deadLetterValue, type DeadLetter } from '../../functions/log-archiver/dead-letter.js';
import { run } from '../../functions/log-archiver/handler.js';
import type { ArchiveSummary } from '../../functions/log-archiver/archive-batch.js';
import { parseKeyTemplate } from '../../functions/log-archiver/key-template.js';
import { DeadlineError, InvalidInputError } from '../../shared/errors.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { APP_ID, TOPIC, batch, depsFor, executorLine, filebeatValue, keys, linesOf, record, tempStore, text } from './support.js';

let store: FileObjectStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(async () => cleanup());

/** Three attempts, a millisecond apart: the retry logic without the default's waits. */
const FAST_RETRY = { maxRecordAttempts: 3, retryBaseDelayMs: 1 };

const key = (executorId: string, stream: 'stdout' | 'stderr', first: number, last: number, partition = 0) =>
  chunkKey({ appId: APP_ID, executorId, stream, topic: TOPIC, partition, firstOffset: first, lastOffset: last });

async function archive(records: Parameters<typeof batch>[0], s: ObjectStore = store, settings = {}): Promise<ArchiveSummary> {
  return (await run(batch(records), depsFor(s), settings)) as ArchiveSummary;
}

async function readDeadLetter(topic: string, partition: number, offset: number): Promise<DeadLetter> {
  return JSON.parse((await getBuffer(store, deadLetterKey(topic, partition, offset))).toString('utf8')) as DeadLetter;
}

describe('log-archiver', () => {
  it('archives the Filebeat samples into one chunk per app, executor and stream', async () => {
    const summary = await archive([
      record(100, filebeatValue('container-driver')),
      record(101, filebeatValue('container-executor')),
      record(102, filebeatValue('container-executor-multiline')),
      record(103, filebeatValue('filestream')),
      record(104, filebeatValue('fields-under-root')),
    ]);
    expect(summary).toMatchObject({ kind: 'archive', records: 5, archived: 5, chunks: 4, deadLettered: 0, tombstones: 0, invalidUtf8: 0 });
    expect(await keys(store)).toEqual(
      [key('1', 'stderr', 101, 102), key('2', 'stderr', 104, 104), key('2', 'stdout', 103, 103), key('driver', 'stderr', 100, 100)].sort(),
    );
    expect(key('1', 'stderr', 101, 102)).toBe(`logs/${APP_ID}/1/stderr/spark-logs-0-00000000000000000101-00000000000000000102.log.gz`);
    expect(linesOf(await text(store, key('driver', 'stderr', 100, 100)))).toEqual(['25/05/14 02:14:51 INFO SparkContext: Running Spark version 3.5.1']);
    const executor = await text(store, key('1', 'stderr', 101, 102));
    expect(executor).toMatch(/^25\/05\/14 02:15:02 INFO Executor: Running task 3\.0 in stage 1\.0 \(TID 7\)\n25\/05\/14 02:15:04 ERROR Executor/);
    expect(executor).toContain('\n\tat org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:620)\n');
    expect(executor.endsWith('\n')).toBe(true);
  });

  it('describes each chunk in its metadata', async () => {
    await archive([record(101, filebeatValue('container-executor')), record(102, filebeatValue('container-executor-multiline')), record(103, filebeatValue('filestream'))]);
    const info = await store.head(key('1', 'stderr', 101, 102));
    expect(info).toMatchObject({ contentType: 'text/plain; charset=utf-8', contentEncoding: 'gzip' });
    expect(info!.metadata).toMatchObject({
      namespace: 'spark-jobs',
      'pod-name': 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1',
      'app-name': 'etl-orders-daily',
      'line-count': '2',
      'first-event-time': '2025-05-14T02:15:02.417Z',
      'last-event-time': '2025-05-14T02:15:04.902Z',
    });
    expect((await store.head(key('2', 'stdout', 103, 103)))!.metadata).toMatchObject({ 'app-type': 'spark', 'line-count': '1' });
  });

  it('writes each partition of a batch to its own chunk, lines in offset order whatever the record order', async () => {
    const line = (n: number, p: number) => record(n, executorLine(`line ${n}`), { partition: p });
    await archive([line(12, 1), line(10, 1), line(7, 0), line(11, 1), line(5, 0)]);
    expect(await keys(store)).toEqual([key('1', 'stderr', 5, 7, 0), key('1', 'stderr', 10, 12, 1)]);
    expect(linesOf(await text(store, key('1', 'stderr', 10, 12, 1)))).toEqual(['line 10', 'line 11', 'line 12']);
  });

  it('rewrites the same keys with the same bytes when a batch is delivered again', async () => {
    const records = [record(1, filebeatValue('container-executor')), record(2, filebeatValue('filestream')), record(3, '{"no":"message"}')];
    await archive(records);
    const before = new Map<string, Buffer>();
    for (const k of await keys(store)) before.set(k, await getBuffer(store, k));
    await archive(records);
    expect(await keys(store)).toEqual([...before.keys()]);
    for (const [k, bytes] of before) expect((await getBuffer(store, k)).equals(bytes), k).toBe(true);
  });

  it('archives a plain text value when the record key says whose line it is', async () => {
    const summary = await archive([
      record(1, 'INFO plain line from a sidecar\n', { key: Buffer.from(`spark/${APP_ID}/4`) }),
      record(2, '[not json', { key: Buffer.from(`spark/${APP_ID}/4`) }),
    ]);
    expect(summary).toMatchObject({ archived: 2, deadLettered: 0 });
    expect(linesOf(await text(store, key('4', 'stdout', 1, 2)))).toEqual(['INFO plain line from a sidecar', '[not json']);
    expect((await store.head(key('4', 'stdout', 1, 2)))!.metadata['app-type']).toBe('spark');
  });

  it('takes the stream from the key when the template has one', async () => {
    await archive([record(1, 'to stderr', { key: Buffer.from(`${APP_ID}/4/stderr`) })], store, { keyTemplate: parseKeyTemplate('<appId>/<executorId>/<stream>') });
    expect(await keys(store)).toEqual([key('4', 'stderr', 1, 1)]);
  });

  describe('dead letters', () => {
    const good = () => record(1, executorLine('a good line'));
    const unsafe = (id: string) =>
      filebeatValue('container-executor', (e) => {
        (e.kubernetes as { labels: Record<string, string> }).labels['spark-exec-id'] = id;
      });

    it.each([
      ['invalid JSON when the key has no identity', Buffer.from('{"message": "cut'), 'invalid-json'],
      ['invalid JSON with a key of another shape', Buffer.from('plain text'), 'invalid-json'],
      ['JSON that is not an object', Buffer.from('["a", "b"]'), 'not-object'],
      ['a JSON string', Buffer.from('"just a string"'), 'not-object'],
      ['an event without message', filebeatValue('container-executor', (e) => delete e.message), 'message-missing'],
      ['an event whose message is a number', filebeatValue('container-executor', (e) => (e.message = 42)), 'message-not-string'],
      ['an event whose message is null', filebeatValue('container-executor', (e) => (e.message = null)), 'message-not-string'],
      ['an event with no identity', filebeatValue('container-executor', (e) => delete e.kubernetes), 'no-identity'],
      ['an executor id with ..', unsafe('..'), 'unsafe-id'],
      ['an executor id with a slash', unsafe('1/../../etc'), 'unsafe-id'],
      ['an executor id with a control character', unsafe('1\u0007'), 'unsafe-id'],
      ['an executor id over 240 bytes', unsafe('x'.repeat(241)), 'unsafe-id'],
      // Issue #14: 102 characters of CJK text are 306 bytes, past the 255 a file name may have.
      ['an app id of 306 bytes', filebeatValue('filestream', (e) => ((e.fields as Record<string, string>).app_id = '日'.repeat(102))), 'unsafe-id'],
      ['an app id with ..', filebeatValue('filestream', (e) => ((e.fields as Record<string, string>).app_id = 'spark-..-1')), 'unsafe-id'],
      ['an empty value', Buffer.alloc(0), 'empty-value'],
    ])('dead-letters %s and archives the rest of the batch', async (_, value, reason) => {
      const summary = await archive([good(), record(2, value, { key: Buffer.from('k1') }), record(3, executorLine('another good line'))]);
      expect(summary).toMatchObject({ archived: 2, deadLettered: 1, deadLetters: { [reason]: 1 } });
      expect(linesOf(await text(store, key('1', 'stderr', 1, 3)))).toEqual(['a good line', 'another good line']);
      const letter = await readDeadLetter(TOPIC, 0, 2);
      expect(letter).toMatchObject({ function: 'log-archiver', topic: TOPIC, partition: 0, offset: '2', key: 'k1', keyEncoding: 'utf8', reason });
      expect(letter.detail).toMatch(/\.$/);
      expect(deadLetterValue(letter)!.equals(value)).toBe(true);
    });

    it('dead-letters at once, without a failed write, a record whose chunk file name would pass 255 bytes', async () => {
      // Kafka's longest topic (249) fits a dead letter's key, but its chunk file name
      // (<topic>-<partition>-<20 digits>-<20 digits>.log.gz) would be 300+ bytes.
      const topic = 't'.repeat(249);
      const summary = await archive([record(7, executorLine('a line'), { topic })]);
      expect(summary).toMatchObject({ archived: 0, deadLettered: 1, deadLetters: { 'unsafe-id': 1 } });
      const letter = await readDeadLetter(topic, 0, 7);
      expect(letter.detail).toMatch(/a file name stops at 255/);
      expect(await keys(store, 'logs/')).toEqual([]);
    });

    it('puts dead letters at deadletter/log-archiver/<topic>/<partition>/<offset>.json, offsets zero-padded', async () => {
      await archive([record(42, 'nope', { partition: 3 })]);
      expect(await keys(store)).toEqual(['deadletter/log-archiver/spark-logs/3/00000000000000000042.json']);
    });

    it('keeps a value that is not UTF-8 as base64 in its dead letter', async () => {
      const value = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00]);
      const key = Buffer.from([0xc3, 0x28]);
      await archive([record(5, value, { key })]);
      const letter = await readDeadLetter(TOPIC, 0, 5);
      expect(letter).toMatchObject({ valueEncoding: 'base64', keyEncoding: 'base64', reason: 'invalid-json' });
      expect(deadLetterValue(letter)!.equals(value)).toBe(true);
      expect(Buffer.from(letter.key!, 'base64').equals(key)).toBe(true);
    });

    it('counts a tombstone (null value) and neither archives nor dead-letters it', async () => {
      const summary = await archive([good(), record(2, null)]);
      expect(summary).toMatchObject({ records: 2, archived: 1, tombstones: 1, deadLettered: 0 });
      expect(await keys(store, 'deadletter/')).toEqual([]);
    });

    it('keeps a line that is not valid UTF-8 with U+FFFD, and counts it', async () => {
      const value = Buffer.concat([Buffer.from('{"message":"caf'), Buffer.from([0xe9]), Buffer.from(' cr'), Buffer.from([0xc3]), Buffer.from('me",'), filebeatValue('container-executor', (e) => delete e.message).subarray(1)]);
      const summary = await archive([record(1, value)]);
      expect(summary).toMatchObject({ archived: 1, invalidUtf8: 1, deadLettered: 0 });
      expect(await text(store, key('1', 'stderr', 1, 1))).toBe('caf\ufffd cr\ufffdme\n');
    });

    it('keeps a line that is too long cut, with a visible marker, and dead-letters the whole record', async () => {
      const long = `${'é'.repeat(700)}${'x'.repeat(1000)}`;
      const value = executorLine(long);
      const summary = await archive([record(9, value)], store, { maxLineBytes: 1025 });
      expect(summary).toMatchObject({ archived: 1, truncated: 1, deadLettered: 1, deadLetters: { 'line-too-long': 1 } });
      const kept = await text(store, key('1', 'stderr', 9, 9));
      // 1025 bytes would split an é (2 bytes): the cut backs up to 1024.
      expect(kept).toBe(`${'é'.repeat(512)} […truncated by sparkfn log-archiver: 1024 of ${Buffer.byteLength(long)} bytes kept]\n`);
      const letter = await readDeadLetter(TOPIC, 0, 9);
      expect(letter.reason).toBe('line-too-long');
      expect(deadLetterValue(letter)!.equals(value)).toBe(true);
    });

    it('archives a record delivered twice in one batch once', async () => {
      const summary = await archive([good(), record(2, executorLine('b')), good()]);
      expect(summary).toMatchObject({ records: 3, archived: 2, duplicates: 1 });
      expect(linesOf(await text(store, key('1', 'stderr', 1, 2)))).toEqual(['a good line', 'b']);
    });
  });

  it('refuses a topic that cannot be part of a key, before writing anything', async () => {
    await expect(archive([record(1, executorLine('x'), { topic: 'spark..logs' })])).rejects.toThrow(InvalidInputError);
    expect(await keys(store)).toEqual([]);
  });

  it('writes nothing and throws a DeadlineError when the deadline passed before the writes', async () => {
    const controller = new AbortController();
    controller.abort();
    const deps = depsFor(store, { signal: controller.signal });
    await expect(run(batch([record(1, executorLine('x')), record(2, 'bad')]), deps, {})).rejects.toThrow(DeadlineError);
    expect(await keys(store)).toEqual([]);
  });

  it('fails the batch when the store is unavailable for a write, and a retry rewrites the same keys with nothing duplicated', async () => {
    let failing = true;
    const flaky: ObjectStore = Object.create(store) as ObjectStore;
    flaky.put = async (k, body, options) => {
      if (failing && k.includes('/stdout/')) throw Object.assign(new Error('injected: connection reset'), { code: 'ECONNRESET' });
      return store.put(k, body, options);
    };
    const records = [record(1, executorLine('err line')), record(2, executorLine('out line', { stream: 'stdout' })), record(3, 'bad')];
    await expect(archive(records, flaky, FAST_RETRY)).rejects.toThrow(/store is unavailable .*injected: connection reset, after 3 attempt/);
    expect(await keys(store, 'deadletter/')).toEqual([deadLetterKey(TOPIC, 0, 3)]);
    failing = false;
    const summary = await archive(records, flaky);
    expect(summary).toMatchObject({ archived: 2, chunks: 2, deadLettered: 1 });
    expect(await keys(store)).toEqual([deadLetterKey(TOPIC, 0, 3), key('1', 'stderr', 1, 1), key('1', 'stdout', 2, 2)]);
    expect(await text(store, key('1', 'stdout', 2, 2))).toBe('out line\n');
  });

  describe('a record that fails every time (issue #14)', () => {
    // A real, lasting failure of one key: an object at logs/poison-app makes logs/poison-app/… a
    // path through a file, which the file store refuses (key-conflict) on every attempt.
    const POISON_APP = 'spark-poison';
    const poisonLine = (message: string) => executorLine(message, { appId: POISON_APP });

    it('dead-letters the records of a chunk that failed every attempt while other writes succeeded, and archives the rest', async () => {
      await store.put(`logs/${POISON_APP}`, 'in the way');
      const records = [record(1, executorLine('good 1')), record(2, poisonLine('poison')), record(3, executorLine('good 3'))];
      const summary = await archive(records, store, FAST_RETRY);
      expect(summary).toMatchObject({ records: 3, archived: 2, chunks: 1, deadLettered: 1, deadLetters: { 'write-failed': 1 }, retries: 2 });
      expect(linesOf(await text(store, key('1', 'stderr', 1, 3)))).toEqual(['good 1', 'good 3']);
      const letter = await readDeadLetter(TOPIC, 0, 2);
      expect(letter).toMatchObject({ reason: 'write-failed', attempts: 3, offset: '2' });
      expect(letter.detail).toMatch(/could not be written after 3 attempt\(s\).*collides with another key/);
      expect(deadLetterValue(letter)!.equals(records[1]!.value!)).toBe(true);
    });

    it('dead-letters a failing chunk that is the whole batch: its dead letters show the store takes writes', async () => {
      await store.put(`logs/${POISON_APP}`, 'in the way');
      const summary = await archive([record(5, poisonLine('a')), record(6, poisonLine('b'))], store, FAST_RETRY);
      expect(summary).toMatchObject({ archived: 0, chunks: 0, deadLettered: 2, deadLetters: { 'write-failed': 2 } });
      expect(await keys(store, 'deadletter/')).toEqual([deadLetterKey(TOPIC, 0, 5), deadLetterKey(TOPIC, 0, 6)]);
    });

    it('replaces the line-too-long dead letter of a cut line whose chunk then failed, and counts the record once', async () => {
      await store.put(`logs/${POISON_APP}`, 'in the way');
      const long = poisonLine('y'.repeat(2000));
      const summary = await archive([record(1, executorLine('good')), record(2, long)], store, { ...FAST_RETRY, maxLineBytes: 1024 });
      expect(summary).toMatchObject({ archived: 1, truncated: 1, deadLettered: 1 });
      expect(await readDeadLetter(TOPIC, 0, 2)).toMatchObject({ reason: 'write-failed', attempts: 3 });
    });

    it.each([
      ['one chunk', [record(1, executorLine('a'))]],
      ['several chunks and a dead letter', [record(1, executorLine('a')), record(2, poisonLine('b')), record(3, executorLine('c', { stream: 'stdout' })), record(4, 'not json')]],
    ])('dead-letters nothing and fails the batch when the store fails every write (%s)', async (_, records) => {
      // A store whose folder is a file: every write fails, for every key.
      const broken = new FileObjectStore(join(store.dir, 'logs-are-a-file'));
      await writeFile(broken.dir, 'not a folder');
      await expect(archive(records, broken, FAST_RETRY)).rejects.toThrow(/store is failing|could not be written/);
      // Only the file that breaks the other store: no dead letter anywhere.
      expect(await keys(store)).toEqual(['logs-are-a-file']);
    });

    it('writes a chunk whose first attempts failed, once the store takes it', async () => {
      let failures = 0;
      const flaky: ObjectStore = Object.create(store) as ObjectStore;
      flaky.put = async (k, body, options) => {
        if (k.startsWith('logs/') && failures < 2) {
          failures++;
          throw new Error('injected: refused twice');
        }
        return store.put(k, body, options);
      };
      const summary = await archive([record(1, executorLine('kept'))], flaky, FAST_RETRY);
      expect(summary).toMatchObject({ archived: 1, deadLettered: 0, retries: 2 });
      expect(await text(store, key('1', 'stderr', 1, 1))).toBe('kept\n');
    });
  });

  it('reports its metrics', async () => {
    const deps = depsFor(store);
    await run(batch([record(1, executorLine('x')), record(2, 'bad'), record(3, null)]), deps, {});
    const metrics = await deps.metrics.text();
    expect(metrics).toMatch(/sparkfn_log_archiver_records_total 3/);
    expect(metrics).toMatch(/sparkfn_log_archiver_lines_total 1/);
    expect(metrics).toMatch(/sparkfn_log_archiver_bytes_total 2/);
    expect(metrics).toMatch(/sparkfn_log_archiver_objects_written_total\{kind="chunk"\} 1/);
    expect(metrics).toMatch(/sparkfn_log_archiver_dead_letters_total\{reason="invalid-json"\} 1/);
    expect(metrics).toMatch(/sparkfn_log_archiver_batch_duration_seconds_count 1/);
  });

  it('gzips with the configured level into a stream any gzip reader takes', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `25/05/14 02:15:${String(i % 60).padStart(2, '0')} INFO TaskSetManager: Finished task ${i}.0 in stage 3.0 (TID ${i + 100}) in 42 ms on 10.42.3.17 (executor 1) (${i}/2000)`);
    await archive(lines.map((l, i) => record(i, executorLine(l))), store, { gzipLevel: 1 });
    const [k] = await keys(store);
    const bytes = await getBuffer(store, k!);
    expect(gunzipSync(bytes).toString()).toBe(`${lines.join('\n')}\n`);
    expect(bytes.length).toBeLessThan(Buffer.byteLength(lines.join('\n')) / 4);
  });
});
