import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractFast, extractFilebeat } from '../../functions/log-archiver/fast-extract.js';
import { extractByParse } from '../../functions/log-archiver/filebeat-event.js';
import { SOURCE_SHA256 } from '../../functions/log-archiver/wasm/extract-wasm.js';
import { sourceSha256 } from '../../functions/log-archiver/wasm/build.js';
import { FILEBEAT_SAMPLES, filebeatEvent, filebeatValue } from './support.js';

/** The property every input must have: the fast reading is the parse's reading. */
function agrees(value: Buffer): void {
  expect(extractFilebeat(value)).toEqual(extractByParse(value));
}

// Field names the extractor looks for, at the places it looks, plus decoys.
const NAMES = ['message', 'stream', '@timestamp', 'fields', 'kubernetes', 'log', 'app_id', 'executor_id', 'app_type', 'namespace', 'pod', 'name', 'labels', 'spark-app-selector', 'spark-exec-id', 'spark-role', 'spark-app-name', 'file', 'path', 'messages', 'Message', 'input', '__proto__'];

const scalar = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('stdout', 'stderr', 'driver', '7', 'spark-1a2b', '', '\\', '"', '\n\tat x', '\u2028', '\ud800', 'é'),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);

/** JSON-ish values built from the names the extractor cares about, so the interesting paths are hit often. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('object'), tie('array')),
  object: fc.dictionary(fc.oneof(fc.constantFrom(...NAMES), fc.string()), tie('value'), { maxKeys: 6 }),
  array: fc.array(tie('value'), { maxLength: 3 }),
})).value;

const event = fc.record(
  {
    message: scalar,
    stream: scalar,
    '@timestamp': scalar,
    fields: fc.oneof(fc.record({ app_id: scalar, executor_id: scalar, app_type: scalar }, { requiredKeys: [] }), value),
    app_id: scalar,
    executor_id: scalar,
    kubernetes: fc.oneof(
      fc.record(
        {
          namespace: scalar,
          pod: fc.oneof(fc.record({ name: scalar, uid: fc.string() }, { requiredKeys: [] }), value),
          labels: fc.oneof(fc.record({ 'spark-app-selector': scalar, 'spark-exec-id': scalar, 'spark-role': scalar, 'spark-app-name': scalar }, { requiredKeys: [] }), value),
        },
        { requiredKeys: [] },
      ),
      value,
    ),
    log: fc.oneof(fc.record({ offset: fc.nat(), file: fc.oneof(fc.record({ path: scalar }), value) }, { requiredKeys: [] }), value),
    extra: value,
  },
  { requiredKeys: [] },
);

/** A byte to write over another: anything, often one that matters to JSON or UTF-8. */
const byte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.integer({ min: 0, max: 0x1f }),
  fc.constantFrom(0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x2d, 0x30, 0x65, 0x75, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xff),
);

/** JSON text with random whitespace and, sometimes, \\u-escaped keys. */
function render(v: unknown, ws: string, escapeKeys: boolean): string {
  if (Array.isArray(v)) return `[${ws}${v.map((x) => render(x, ws, escapeKeys)).join(`${ws},${ws}`)}${ws}]`;
  if (v !== null && typeof v === 'object') {
    const members = Object.entries(v).map(([k, x]) => {
      const key = escapeKeys && k.length > 0 ? `"\\u${k.charCodeAt(0).toString(16).padStart(4, '0')}${JSON.stringify(k).slice(2)}` : JSON.stringify(k);
      return `${key}${ws}:${ws}${render(x, ws, escapeKeys)}`;
    });
    return `{${ws}${members.join(`${ws},${ws}`)}${ws}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

describe('log-archiver fast extractor', () => {
  it.each(FILEBEAT_SAMPLES)('reads events/filebeat/%s fast, exactly as JSON.parse does', (name) => {
    const value = filebeatValue(name);
    const fast = extractFast(value);
    expect(fast, 'the fast path handles real events itself').toBeDefined();
    expect(fast).toEqual(extractByParse(value));
  });

  it.each(FILEBEAT_SAMPLES)('reads events/filebeat/%s pretty-printed (as the file is) the same way', (name) => {
    const value = Buffer.from(JSON.stringify(filebeatEvent(name), null, 2));
    expect(extractFast(value)).toEqual(extractByParse(value));
  });

  it('hands back the message as a view into the value when nothing needs decoding', () => {
    const value = filebeatValue('container-executor');
    const result = extractFast(value);
    expect(result?.kind).toBe('event');
    const message = (result as { event: { message: Buffer } }).event.message;
    expect(message.buffer).toBe(value.buffer);
    expect(message.toString()).toBe('25/05/14 02:15:02 INFO Executor: Running task 3.0 in stage 1.0 (TID 7)');
  });

  it('reads ids that differ in one byte in the middle as themselves, alternately', () => {
    // Same length, same first and last bytes: the scanner's table of texts compares them whole.
    const pods = ['etl-a-spark-exec-000000000001', 'etl-b-spark-exec-000000000001', 'etl-c-spark-exec-000000000001'];
    for (let round = 0; round < 3; round++) {
      for (const pod of pods) {
        const value = Buffer.from(JSON.stringify({ message: 'x', kubernetes: { pod: { name: pod }, labels: { 'spark-app-selector': `spark-${pod}`, 'spark-exec-id': '1' } } }));
        const result = extractFast(value) as { event: { podName: string; labels: { appSelector: string } } };
        expect(result.event.podName).toBe(pod);
        expect(result.event.labels.appSelector).toBe(`spark-${pod}`);
      }
    }
  });

  it('reads more distinct ids than the scanner remembers, each as itself', () => {
    // 3 texts a record, 6,000 records: the scanner's table of 4,096 texts starts over on the way.
    for (let i = 0; i < 6000; i++) {
      const value = Buffer.from(JSON.stringify({ message: `line ${i}`, kubernetes: { pod: { name: `pod-${i}` }, labels: { 'spark-app-selector': `spark-${i}`, 'spark-exec-id': String(i % 7) } } }));
      const result = extractFast(value) as { event: { podName: string; labels: { appSelector: string; execId: string } } };
      expect(result.event.podName).toBe(`pod-${i}`);
      expect(result.event.labels.appSelector).toBe(`spark-${i}`);
      expect(result.event.labels.execId).toBe(String(i % 7));
    }
  });

  it('reads a value far larger than the scanner has room for at first (16 MiB), then small ones again', () => {
    const big = Buffer.from(JSON.stringify({ message: 'x'.repeat(16 * 1024 * 1024), stream: 'stderr' }));
    const result = extractFast(big) as { event: { message: Buffer; stream: string } };
    expect(result.event.message.length).toBe(16 * 1024 * 1024);
    expect(result.event.stream).toBe('stderr');
    agrees(filebeatValue('container-executor'));
    expect(extractFast(filebeatValue('container-executor'))).toBeDefined();
  });

  it.each([
    ['the short escapes', String.raw`a\"b\\c\/d\be\ff\ng\rh\ti`],
    ['a stack trace', String.raw`Exception in task 3.0\n\tat org.apache.spark.Executor.run(Executor.scala:42)\n\tat java.lang.Thread.run`],
    ['backslash-u escapes of 1, 2 and 3 UTF-8 bytes', String.raw`\u0000\u0041\u00e9\u07ff\u0800\u20ac\uffff`],
    ['a surrogate pair', String.raw`smile \ud83d\ude00 ok`],
    ['a lone high surrogate', String.raw`a\ud800b`],
    ['a lone low surrogate', String.raw`a\udc00b`],
    ['two high surrogates, then a low one', String.raw`\ud800\ud83d\ude00`],
    ['a high surrogate at the end', String.raw`x\ud83d`],
    ['a high surrogate before a short escape', String.raw`\ud83d\n`],
    ['escapes after 16 plain bytes', String.raw`0123456789abcdef0123456789\tX\u00e90123456789abcdef`],
  ])('decodes a message with %s exactly as JSON.parse does', (_, literal) => {
    const value = Buffer.from(`{"message":"${literal}","stream":"stdout"}`);
    const fast = extractFast(value);
    expect(fast, 'an escaped ASCII message stays on the fast path').toBeDefined();
    expect(fast).toEqual(extractByParse(value));
  });

  it('runs WebAssembly built from the extract.c in the tree (npm run build:wasm after changing it)', () => {
    expect(SOURCE_SHA256).toBe(sourceSha256());
  });

  it.each([
    ['a repeated key it reads', '{"message":"a","message":"b"}'],
    ['an escaped key', '{"\\u006dessage":"a"}'],
    ['a number id', '{"message":"a","fields":{"app_id":7,"executor_id":1}}'],
    ['an array at the top', '["message"]'],
    ['a trailing comma', '{"message":"a",}'],
    ['a control character in a string', '{"message":"a\tb"}'],
    ['a bad escape', '{"message":"a\\x"}'],
    ['a leading zero', '{"n":01,"message":"a"}'],
    ['trailing text', '{"message":"a"} x'],
    ['a byte order mark', '\ufeff{"message":"a"}'],
    ['an unclosed object', '{"message":"a"'],
    ['a lone minus', '{"n":-,"message":"a"}'],
  ])('defers to JSON.parse on %s, and still agrees with it', (_, text) => {
    const value = Buffer.from(text);
    expect(extractFast(value)).toBeUndefined();
    agrees(value);
  });

  it('agrees with JSON.parse on random Filebeat-like events', () => {
    fc.assert(
      fc.property(event, fc.constantFrom('', ' ', '\n  ', '\t'), fc.boolean(), (e, ws, escapeKeys) => {
        agrees(Buffer.from(render(e, ws, escapeKeys)));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with JSON.parse on random events with some bytes changed (invalid UTF-8, broken syntax)', () => {
    fc.assert(
      fc.property(event, fc.array(fc.tuple(fc.nat(), byte), { minLength: 1, maxLength: 4 }), (e, edits) => {
        const bytes = Buffer.from(JSON.stringify(e));
        for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        agrees(bytes);
      }),
      { numRuns: 6000 },
    );
  });

  it('agrees with JSON.parse on real events with some bytes changed', () => {
    const samples = FILEBEAT_SAMPLES.map((name) => filebeatValue(name));
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.array(fc.tuple(fc.nat(), byte), { minLength: 1, maxLength: 3 }), (which, edits) => {
        const bytes = Buffer.from(samples[which] as Buffer);
        for (const [at, b] of edits) bytes[at % bytes.length] = b;
        agrees(bytes);
      }),
      { numRuns: 6000 },
    );
  });

  it('agrees with JSON.parse on arbitrary bytes and on arbitrary JSON', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => agrees(Buffer.from(bytes))), { numRuns: 2000 });
    fc.assert(fc.property(fc.json(), (text) => agrees(Buffer.from(text))), { numRuns: 2000 });
  });

  it('agrees on every fixture cut at every length', () => {
    const value = filebeatValue('container-executor-multiline');
    for (let n = 0; n <= value.length; n++) agrees(value.subarray(0, n));
  });
});
