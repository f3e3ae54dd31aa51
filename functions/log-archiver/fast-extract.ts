import { isUtf8 } from 'node:buffer';
import { eventTime, eventTimeOfAscii } from './event-time.js';
import { type ExtractResult, type FilebeatEvent, ID_FIELD_NAMES, type IdFields, SPARK_LABEL_NAMES, extractByParse } from './filebeat-event.js';
import { WASM_BASE64 } from './wasm/extract-wasm.js';

/** What extractFilebeat found out about the bytes of a value on the way (for parseRecord). */
export interface ValueFacts {
  /** Every byte of the value is ASCII, so it is valid UTF-8; false also when this is not known. */
  ascii: boolean;
}

/**
 * Reads a Filebeat event the fast way when it can, by `JSON.parse` when it cannot: the result is
 * always exactly `extractByParse(value)`. `facts`, when given, is filled in.
 * @example extractFilebeat(Buffer.from('{"message":"26/01/15 08:21:04 INFO Executor: Running task 3.0"}'))
 */
export function extractFilebeat(value: Buffer, facts?: ValueFacts): ExtractResult {
  const fast = extractFast(value);
  if (facts) facts.ascii = fast !== undefined && scanner().allAscii;
  return fast ?? extractByParse(value);
}

/**
 * The fields of a Filebeat event read straight from the bytes, without building the event
 * object. A WebAssembly scanner (wasm/extract.c) makes one pass that validates the JSON grammar
 * as it goes, descends only into `fields`, `kubernetes`, `log`, and reports where the strings we
 * need are; only those are decoded here. `message` usually comes back as a view into `value` (no
 * copy, no decoding), or decoded by the scanner when it holds escapes (multi-line events); `@timestamp` is read from its bytes; ids and names, which repeat on every
 * record of a pod, are decoded once per distinct text (the scanner numbers the texts it has seen).
 *
 * Returns undefined whenever it is not certain to match `JSON.parse`: invalid or unusual JSON
 * (a top level that is not an object, a key with an escape, an id written as a number, a
 * repeated key it cares about, a control character in a string, …). The caller then parses.
 * Other strings with escapes are decoded by `JSON.parse` of just that string literal.
 */
export function extractFast(value: Buffer): ExtractResult | undefined {
  const s = scanner();
  if (!s.load(value) || s.exports.extract(value.length) === 0) return undefined;
  const out = s.out;
  const filled = out[0] as number;
  if (out[1] !== s.generation) {
    s.texts = [];
    s.generation = out[1] as number;
  }
  s.allAscii = out[2] === 1;
  const event: FilebeatEvent = { message: undefined, messageType: 'missing', fields: {}, root: {}, labels: {} };
  for (let i = 0, o = OUT_HEADER; i < filled; i++, o += OUT_PER_SLOT) {
    const slot = SLOTS[out[o] as number] as Slot;
    const start = out[o + 1] as number;
    const end = out[o + 2] as number;
    const flags = out[o + 3] as number;
    if (slot.action === MESSAGE) {
      if (flags & F_OTHER) {
        event.messageType = 'other';
      } else if (flags & F_DECODED) {
        event.message = s.copyOut(start, end);
        event.messageType = 'string';
      } else {
        event.message = messageBytes(value, start, end, flags);
        event.messageType = 'string';
      }
    } else if (slot.action === TIME) {
      event.time = flags & (F_ESCAPED | F_NONASCII) ? eventTime(text(value, start, end, flags)) : eventTimeOfAscii(value, start, end);
    } else {
      const id = out[o + 4] as number;
      (slot.target as Target)(event, id >= 0 ? (s.texts[id] ??= value.toString('latin1', start, end)) : text(value, start, end, flags));
    }
  }
  return { kind: 'event', event };
}

/** The content (between the quotes) of a string literal as text. */
function text(value: Buffer, start: number, end: number, flags: number): string {
  if (flags & F_ESCAPED) return JSON.parse(value.toString('utf8', start - 1, end + 1)) as string;
  // ASCII bytes are the same text in Latin-1 and UTF-8.
  return value.toString(flags & F_NONASCII ? 'utf8' : 'latin1', start, end);
}

/** A message as UTF-8 bytes: a view into the value when nothing needs decoding. */
function messageBytes(value: Buffer, start: number, end: number, flags: number): Buffer {
  // ASCII content is valid UTF-8 whatever the rest of the value holds: invalid bytes elsewhere
  // become U+FFFD there without touching ASCII bytes (WHATWG decoding never swallows them).
  if (!(flags & F_ESCAPED) && (!(flags & F_NONASCII) || isUtf8(value))) return value.subarray(start, end);
  return Buffer.from(text(value, start, end, flags), 'utf8');
}

// What a key's value is for (the scanner's enum): a string into a field, an id into a field (a
// number id is left to JSON.parse), an object to descend into, the message, the time.
const STRING = 0;
const ID = 1;
const OBJECT = 2;
const MESSAGE = 3;
const TIME = 4;
// The scanner's result layout and flags (extract.c).
const OUT_HEADER = 3;
const OUT_PER_SLOT = 5;
const F_ESCAPED = 2;
const F_NONASCII = 4;
const F_OTHER = 8;
const F_DECODED = 16;
/** Its capacity for the spec: int32s, key bytes, keys per object (a bit mask), slots. */
const SPEC_INTS = 1024;
const SPEC_KEY_BYTES = 4096;
const MAX_KEYS = 32;
const MAX_SLOTS = 32;
/** Bigger values are left to JSON.parse rather than grow the scanner's memory without bound. */
const MAX_VALUE_BYTES = 64 * 1024 * 1024;

/** Where a string or id goes. */
type Target = (event: FilebeatEvent, text: string) => void;

type Spec = { [key: string]: { action: typeof STRING | typeof ID; target: Target } | { action: typeof OBJECT; inner: Spec } | { action: typeof MESSAGE | typeof TIME } };

const str = (target: Target) => ({ action: STRING, target }) as const;
const id = (target: Target) => ({ action: ID, target }) as const;
const obj = (inner: Spec) => ({ action: OBJECT, inner }) as const;

const idSpec = (pick: (event: FilebeatEvent) => IdFields): Spec => ({
  [ID_FIELD_NAMES.appId]: id((e, t) => (pick(e).appId = t)),
  [ID_FIELD_NAMES.executorId]: id((e, t) => (pick(e).executorId = t)),
  [ID_FIELD_NAMES.appType]: id((e, t) => (pick(e).appType = t)),
});

/** The fields read, by where they are in the event: the same ones extractByParse reads. */
const ROOT: Spec = {
  message: { action: MESSAGE },
  '@timestamp': { action: TIME },
  stream: str((e, t) => (e.stream = t)),
  fields: obj(idSpec((e) => e.fields)),
  [ID_FIELD_NAMES.appId]: id((e, t) => (e.root.appId = t)),
  [ID_FIELD_NAMES.executorId]: id((e, t) => (e.root.executorId = t)),
  [ID_FIELD_NAMES.appType]: id((e, t) => (e.root.appType = t)),
  kubernetes: obj({
    namespace: str((e, t) => (e.namespace = t)),
    pod: obj({ name: str((e, t) => (e.podName = t)) }),
    labels: obj({
      [SPARK_LABEL_NAMES.appSelector]: str((e, t) => (e.labels.appSelector = t)),
      [SPARK_LABEL_NAMES.execId]: str((e, t) => (e.labels.execId = t)),
      [SPARK_LABEL_NAMES.role]: str((e, t) => (e.labels.role = t)),
      [SPARK_LABEL_NAMES.appName]: str((e, t) => (e.labels.appName = t)),
      [SPARK_LABEL_NAMES.operatorAppName]: str((e, t) => (e.labels.operatorAppName = t)),
      [SPARK_LABEL_NAMES.operatorAppNameDedotted]: str((e, t) => (e.labels.operatorAppNameDedotted = t)),
    }),
  }),
  log: obj({ file: obj({ path: str((e, t) => (e.logFilePath = t)) }) }),
};

interface Slot {
  action: number;
  target?: Target;
}

/**
 * The spec as the scanner reads it: levels of int32s `[key count, (key offset, key length,
 * action, inner level or slot)…]`, the root first, the key bytes, and what each slot is for.
 */
function flatten(root: Spec): { ints: number[]; keyBytes: Buffer; slots: Slot[] } {
  const ints: number[] = [];
  const keys: Buffer[] = [];
  let keyOffset = 0;
  const slots: Slot[] = [];
  const place = (spec: Spec): number => {
    const entries = Object.entries(spec);
    if (entries.length > MAX_KEYS) throw new Error(`The extractor reads at most ${MAX_KEYS} keys of one object.`);
    const at = ints.length;
    ints.push(entries.length, ...new Array<number>(entries.length * 4).fill(0));
    entries.forEach(([name, what], i) => {
      const bytes = Buffer.from(name);
      const offset = keyOffset;
      keys.push(bytes);
      keyOffset += bytes.length;
      const argument = what.action === OBJECT ? place(what.inner) : slots.push('target' in what ? { action: what.action, target: what.target } : { action: what.action }) - 1;
      ints.splice(at + 1 + i * 4, 4, offset, bytes.length, what.action, argument);
    });
    return at;
  };
  place(root);
  const keyBytes = Buffer.concat(keys);
  if (ints.length > SPEC_INTS || keyBytes.length > SPEC_KEY_BYTES || slots.length > MAX_SLOTS) throw new Error('The extractor spec does not fit the scanner.');
  return { ints, keyBytes, slots };
}

const FLAT = flatten(ROOT);
const SLOTS = FLAT.slots;

interface ScannerExports {
  memory: WebAssembly.Memory;
  spec_ints(): number;
  spec_bytes(): number;
  results(): number;
  input(length: number): number;
  extract(length: number): number;
}

/** The WebAssembly scanner and what this side keeps of it. */
class Scanner {
  readonly exports: ScannerExports;
  out!: Int32Array;
  private heap!: Uint8Array;
  private inputAt = 0;
  private capacity = -1;
  /** Texts decoded so far, by the scanner's id for them, for its current generation. */
  texts: string[] = [];
  generation = -1;
  /** Every string of the last value read was ASCII. */
  allAscii = false;

  constructor() {
    const module = new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'));
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as ScannerExports;
    this.views();
    new Int32Array(this.exports.memory.buffer, this.exports.spec_ints(), FLAT.ints.length).set(FLAT.ints);
    this.heap.set(FLAT.keyBytes, this.exports.spec_bytes());
  }

  /** Copies `value` into the scanner's input, growing it when needed; false when it cannot take it. */
  load(value: Buffer): boolean {
    if (value.length > this.capacity) {
      if (value.length > MAX_VALUE_BYTES) return false;
      const at = this.exports.input(value.length);
      if (at === 0) return false;
      this.inputAt = at;
      this.capacity = value.length;
      // Growing memory detaches the old views.
      this.views();
    }
    this.heap.set(value, this.inputAt);
    return true;
  }

  /** Bytes the scanner wrote into its memory (a decoded message), copied out. */
  copyOut(start: number, end: number): Buffer {
    const bytes = Buffer.allocUnsafe(end - start);
    bytes.set(this.heap.subarray(start, end));
    return bytes;
  }

  private views(): void {
    this.heap = new Uint8Array(this.exports.memory.buffer);
    this.out = new Int32Array(this.exports.memory.buffer, this.exports.results(), OUT_HEADER + MAX_SLOTS * OUT_PER_SLOT);
  }
}

let instance: Scanner | undefined;
/** The scanner, compiled on first use (a few KiB: well under a millisecond). */
function scanner(): Scanner {
  return (instance ??= new Scanner());
}
