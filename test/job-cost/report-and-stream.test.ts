import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, type Io } from '../../app/cli/main.js';
import { readEventLines } from '../../functions/job-cost/event-log-lines.js';
import { EventLogSummary } from '../../functions/job-cost/event-log-summary.js';
import { decodeLz4Block } from '../../functions/job-cost/codec-lz4-block.js';
import { decodeSnappyJava } from '../../functions/job-cost/codec-snappy-java.js';
import { wantedEventOf } from '../../functions/job-cost/line-filter.js';
import { xxhash32 } from '../../functions/job-cost/xxhash32.js';
import { run } from '../../functions/job-cost/handler.js';
import { chunks, fixture, lz4BlockEncode, settings, snappyJavaEncode, tempStore, testDeps } from './support.js';

const APP = 'application_1506645932520_24630151';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of source) parts.push(b);
  return Buffer.concat(parts);
}

describe('job-cost event-log stream', () => {
  it.each([
    ['{"Event":"SparkListenerTaskEnd","Stage ID":0}', undefined],
    ['{"Event":"SparkListenerExecutorMetricsUpdate","Executor ID":"1"}', undefined],
    ['{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart"}', undefined],
    ['{"Event":"SparkListenerExecutorAdded","Timestamp":1}', 'SparkListenerExecutorAdded'],
    ['{"Event":"SparkListenerResourceProfileAdded","Resource Profile Id":0}', 'SparkListenerResourceProfileAdded'],
    ['{ "Timestamp": 1, "Event": "SparkListenerApplicationEnd" }', undefined],
    ['{"Timestamp":1,"Event":"SparkListenerApplicationEnd"}', 'SparkListenerApplicationEnd'],
    ['', undefined],
  ])('classifies %j on its bytes as %s', (line, expected) => {
    const buf = Buffer.from(line);
    expect(wantedEventOf(buf, 0, buf.length)).toBe(expected);
  });

  it('folds the same summary however the bytes are chunked', async () => {
    const data = await fixture(APP);
    const reference = new EventLogSummary();
    await readEventLines(chunks(data, data.length), (t, e) => reference.apply(t, e));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5000 }), async (size) => {
        const summary = new EventLogSummary();
        const stats = await readEventLines(chunks(data, size), (t, e) => summary.apply(t, e));
        expect(stats.lines).toBe(63);
        expect(stats.parsed).toBe(10);
        expect([...summary.executors.values()]).toEqual([...reference.executors.values()]);
        expect(summary.end).toBe(reference.end);
      }),
      { numRuns: 40 },
    );
  });

  it('decodes lz4-java and snappy-java framing back to the original bytes in any chunking', async () => {
    const data = await fixture(APP);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 70_000 }), fc.integer({ min: 64, max: 40_000 }), async (size, block) => {
        expect((await collect(decodeLz4Block(chunks(lz4BlockEncode(data, block), size)))).equals(data)).toBe(true);
        expect((await collect(decodeSnappyJava(chunks(snappyJavaEncode(data, block), size)))).equals(data)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('catches an lz4 block whose bytes changed by its checksum', async () => {
    const encoded = lz4BlockEncode(Buffer.from('{"Event":"SparkListenerApplicationEnd","Timestamp":1}\n'.repeat(50)));
    const damaged = Buffer.from(encoded);
    damaged[21 + 3] = damaged[21 + 3]! ^ 0x01;
    await expect(collect(decodeLz4Block(chunks(damaged, 100)))).rejects.toThrow(/lz4 block 1 (fails its checksum|does not decompress|decompressed to)/);
  });

  it.each([
    ['', 0, 0x02cc5d05],
    ['abc', 0, 0x32d153ff],
    ['Nobody inspects the spammish repetition', 0, 0xe2293b2f],
  ])('xxhash32(%j, %i) is the reference value', (text, seed, expected) => {
    expect(xxhash32(Buffer.from(text), seed)).toBe(expected);
  });
});

describe('sparkfn cost report', () => {
  async function storeWithRecords() {
    const store = await tempStore();
    const deps = testDeps(store);
    for (const [appId, team] of [['application_1553914137147_0018', 'etl'], ['application_1506645932520_24630151', 'ml']] as const) {
      await store.put(`spark-events/${appId}`, await readFile(join('/work/shared/fixtures/spark-events', appId)));
      await run(
        { kind: 'k8s-objects', source: 'test', changes: [{ type: 'ADDED', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${appId}-driver`, namespace: 'spark-jobs', labels: { 'spark-app-selector': appId, 'spark-role': 'driver', team } } } }] },
        deps,
        await settings(),
      );
      await run({ kind: 'http', source: 'test', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {}, body: Buffer.from(JSON.stringify({ appId, namespace: 'spark-jobs' })) }, deps, await settings());
    }
    return store;
  }

  const io = (env: Record<string, string>) => {
    const out: string[] = [];
    const err: string[] = [];
    const value: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t), env, stdin: process.stdin };
    return { value, out, err };
  };

  it('prints a table by team label and writes a self-contained HTML page', async () => {
    const store = await storeWithRecords();
    const env = { SPARKFN_STORE: store.url };
    const table = io(env);
    expect(await main(['node', 'sparkfn', 'cost', 'report', '--from', '2018-01-01', '--to', '2019-12-31', '--by', 'label:team'], table.value)).toBe(0);
    const text = table.out.join('');
    expect(text).toMatch(/^label:team\s+apps\s+vCPU-s/m);
    expect(text).toMatch(/^ml\s+1\s+/m);
    expect(text).toMatch(/^etl\s+1\s+/m);

    const csv = io(env);
    expect(await main(['node', 'sparkfn', 'cost', 'report', '--from', '2018-01-01', '--to', '2019-12-31', '--by', 'day', '--format', 'csv'], csv.value)).toBe(0);
    expect(csv.out.join('').split('\n').filter(Boolean)).toHaveLength(3);

    const page = join(store.url.replace('file://', ''), 'report.html');
    const html = io(env);
    expect(await main(['node', 'sparkfn', 'cost', 'report', '--from', '2018-01-01', '--to', '2019-12-31', '--format', 'html', '--out', page], html.value)).toBe(0);
    const body = await readFile(page, 'utf8');
    expect(body).toContain('<svg');
    expect(body).toContain('<table id="apps">');
    expect(body).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);
  });

  it('refuses an unknown grouping with exit code 2 (a usage error, issue #14) and a sentence', async () => {
    const store = await tempStore();
    const bad = io({ SPARKFN_STORE: store.url });
    expect(await main(['node', 'sparkfn', 'cost', 'report', '--by', 'colour'], bad.value)).toBe(2);
    expect(bad.err.join('')).toMatch(/--by must be namespace, day or label:<key>/);
  });
});
