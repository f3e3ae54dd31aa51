import { isUtf8 } from 'node:buffer';
import { eventTime, eventTimeOfAscii } from './event-time.js';
import { type ExtractResult, type FilebeatEvent, ID_FIELD_NAMES, type IdFields, SPARK_LABEL_NAMES, extractByParse } from './filebeat-event.js';

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
  if (facts) facts.ascii = fast !== undefined && SCANNER.allAscii;
  return fast ?? extractByParse(value);
}

/**
 * The fields of a Filebeat event read straight from the bytes, without building the event
 * object: one pass that validates the JSON grammar as it goes, descends only into `fields`,
 * `kubernetes`, `log`, and decodes only the strings it needs. `message` usually comes back as a
 * view into `value` (no copy, no decoding); `@timestamp` is read from its bytes; ids and names,
 * which repeat on every record of a pod, come from a small cache of texts already decoded.
 *
 * Returns undefined whenever it is not certain to match `JSON.parse`: invalid or unusual JSON
 * (a top level that is not an object, a key with an escape, an id written as a number, a
 * repeated key it cares about, a control character in a string, …). The caller then parses.
 * Strings with escapes are decoded by `JSON.parse` of just that string literal.
 */
export function extractFast(value: Buffer): ExtractResult | undefined {
  const scanner = SCANNER.reset(value);
  const event: FilebeatEvent = { message: undefined, messageType: 'missing', fields: {}, root: {}, labels: {} };
  scanner.ws();
  if (scanner.peek() !== LBRACE) return undefined;
  if (!scanner.object(ROOT, event)) return undefined;
  scanner.ws();
  return scanner.atEnd() ? { kind: 'event', event } : undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/**
 * What a byte is inside a string: 0 plain ASCII, 1 the end of a run of plain content (control
 * characters, `"` and `\`), 2 a byte of a multi-byte UTF-8 sequence (plain, but the string is
 * then not ASCII and cannot be read as Latin-1).
 */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[0x22] = 1;
STRING_STOP[0x5c] = 1;
for (let c = 0x80; c < 0x100; c++) STRING_STOP[c] = 2;
/** Containers nested deeper than this (in a value the extractor skips) are left to JSON.parse. */
const MAX_SKIP_DEPTH = 31;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/**
 * What to do with the value of a key we care about: read a string into a field (`STRING`), an
 * id into a field (`ID`: a number id is left to JSON.parse), the message, the time, or descend
 * into an object (`OBJECT`). One switch rather than a closure per key keeps the call sites
 * monomorphic, which V8 inlines.
 */
const STRING = 0;
const ID = 1;
const OBJECT = 2;
const MESSAGE = 3;
const TIME = 4;

/** Where a string or id goes. */
type Target = (event: FilebeatEvent, text: string) => void;

interface Level {
  keys: Buffer[];
  actions: number[];
  targets: (Target | undefined)[];
  inner: (Level | undefined)[];
}

type Spec = Record<string, { action: typeof STRING | typeof ID; target: Target } | { action: typeof OBJECT; inner: Level } | { action: typeof MESSAGE | typeof TIME }>;

function level(spec: Spec): Level {
  const entries = Object.entries(spec);
  return {
    keys: entries.map(([k]) => Buffer.from(k)),
    actions: entries.map(([, v]) => v.action),
    targets: entries.map(([, v]) => ('target' in v ? v.target : undefined)),
    inner: entries.map(([, v]) => ('inner' in v ? v.inner : undefined)),
  };
}

const str = (target: Target) => ({ action: STRING, target }) as const;
const id = (target: Target) => ({ action: ID, target }) as const;
const obj = (inner: Level) => ({ action: OBJECT, inner }) as const;

const idLevel = (pick: (event: FilebeatEvent) => IdFields): Level =>
  level({
    [ID_FIELD_NAMES.appId]: id((e, t) => (pick(e).appId = t)),
    [ID_FIELD_NAMES.executorId]: id((e, t) => (pick(e).executorId = t)),
    [ID_FIELD_NAMES.appType]: id((e, t) => (pick(e).appType = t)),
  });

const ROOT: Level = level({
  message: { action: MESSAGE },
  '@timestamp': { action: TIME },
  stream: str((e, t) => (e.stream = t)),
  fields: obj(idLevel((e) => e.fields)),
  [ID_FIELD_NAMES.appId]: id((e, t) => (e.root.appId = t)),
  [ID_FIELD_NAMES.executorId]: id((e, t) => (e.root.executorId = t)),
  [ID_FIELD_NAMES.appType]: id((e, t) => (e.root.appType = t)),
  kubernetes: obj(
    level({
      namespace: str((e, t) => (e.namespace = t)),
      pod: obj(level({ name: str((e, t) => (e.podName = t)) })),
      labels: obj(
        level({
          [SPARK_LABEL_NAMES.appSelector]: str((e, t) => (e.labels.appSelector = t)),
          [SPARK_LABEL_NAMES.execId]: str((e, t) => (e.labels.execId = t)),
          [SPARK_LABEL_NAMES.role]: str((e, t) => (e.labels.role = t)),
          [SPARK_LABEL_NAMES.appName]: str((e, t) => (e.labels.appName = t)),
        }),
      ),
    }),
  ),
  log: obj(level({ file: obj(level({ path: str((e, t) => (e.logFilePath = t)) })) })),
});

/** Short strings worth remembering the text of: ids, names, paths. */
const INTERN_MAX_BYTES = 256;
/** Texts remembered at most: far more than the writers one batch holds; the cache starts over past it. */
const INTERN_MAX_ENTRIES = 4096;

/**
 * Texts of ASCII strings already decoded, by a hash of their bytes (a colliding string replaces
 * the entry). Decoding is a native call per string; the few ids and names of a batch's pods
 * repeat on every record, and the same text object lets the maps they are grouped by reuse its hash.
 */
class TextCache {
  private readonly entries = new Map<number, { bytes: Uint8Array; text: string }>();

  text(b: Buffer, start: number, end: number): string {
    const length = end - start;
    // Hashed on the length and the last bytes, where ids and pod names differ; the bytes are compared in full.
    let h = 0x811c9dc5 ^ length;
    for (let i = Math.max(start, end - 16); i < end; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
    const hit = this.entries.get(h);
    if (hit !== undefined && hit.bytes.length === length) {
      const bytes = hit.bytes;
      let i = 0;
      while (i < length && bytes[i] === b[start + i]) i++;
      if (i === length) return hit.text;
    }
    const text = b.toString('latin1', start, end);
    if (this.entries.size >= INTERN_MAX_ENTRIES) this.entries.clear();
    // A copy: a view would keep the whole Kafka fetch buffer the value lives in alive.
    this.entries.set(h, { bytes: Uint8Array.prototype.slice.call(b, start, end), text });
    return text;
  }
}

class Scanner {
  private b: Buffer = Buffer.alloc(0);
  private p = 0;
  private n = 0;
  private utf8: boolean | undefined;
  /** No byte seen so far is above 0x7f (every byte of a value is seen once it is read to the end). */
  allAscii = true;
  /** Content range of the last string scanned by stringRange, and what it holds. */
  private start = 0;
  private end = 0;
  private escaped = false;
  private ascii = true;
  private readonly texts = new TextCache();

  /** Starts on a new value: one scanner serves every call (the extractor is synchronous and not re-entered). */
  reset(b: Buffer): this {
    this.b = b;
    this.p = 0;
    this.n = b.length;
    this.utf8 = undefined;
    this.allAscii = true;
    return this;
  }

  peek(): number {
    return this.p < this.n ? (this.b[this.p] as number) : -1;
  }

  atEnd(): boolean {
    return this.p === this.n;
  }

  ws(): void {
    const b = this.b;
    let p = this.p;
    while (p < this.n) {
      const c = b[p] as number;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.p = p;
  }

  /** An object at the cursor, handling the keys of `spec` and skipping the others. */
  object(spec: Level, event: FilebeatEvent): boolean {
    this.p++; // {
    this.ws();
    if (this.peek() === RBRACE) {
      this.p++;
      return true;
    }
    let seen = 0;
    for (;;) {
      if (this.peek() !== QUOTE) return false;
      const which = this.key(spec.keys);
      if (which === -2) return false;
      this.ws();
      if (this.peek() !== COLON) return false;
      this.p++;
      this.ws();
      if (which >= 0) {
        // JSON.parse keeps the last of repeated keys; rather than mirror that, let it decide.
        if (seen & (1 << which)) return false;
        seen |= 1 << which;
        if (!this.value(spec, which, event)) return false;
      } else if (!this.skip()) {
        return false;
      }
      this.ws();
      const c = this.peek();
      this.p++;
      if (c === RBRACE) return true;
      if (c !== COMMA) return false;
      this.ws();
    }
  }

  /** The value of the `which`th key of `spec` at the cursor, done as its action says; false means "not sure, let JSON.parse decide". */
  private value(spec: Level, which: number, event: FilebeatEvent): boolean {
    const action = spec.actions[which];
    const c = this.peek();
    if (action === OBJECT) return c === LBRACE ? this.object(spec.inner[which] as Level, event) : this.skip();
    if (c !== QUOTE) {
      if (action === MESSAGE) event.messageType = 'other';
      // A number id is turned into text by JSON.parse + String(); leave that spelling to them.
      else if (action === ID && (c === MINUS || (c >= ZERO && c <= NINE))) return false;
      return this.skip();
    }
    if (action === MESSAGE) {
      const bytes = this.stringBytes();
      if (bytes === undefined) return false;
      event.message = bytes;
      event.messageType = 'string';
      return true;
    }
    if (action === TIME) {
      const time = this.time();
      if (time === undefined) return false;
      event.time = time;
      return true;
    }
    const text = this.string();
    if (text === undefined) return false;
    (spec.targets[which] as Target)(event, text);
    return true;
  }

  /** The index of the key at the cursor in `keys`, -1 for another key, -2 when unsure (an escape). */
  private key(keys: readonly Buffer[]): number {
    const b = this.b;
    const n = this.n;
    const start = this.p + 1;
    let p = start;
    while (p < n && STRING_STOP[b[p] as number] === 0) p++;
    if (p >= n || b[p] !== QUOTE) return -2;
    this.p = p + 1;
    const length = p - start;
    // A byte loop: Buffer#compare is a native call, costlier than the few bytes compared here.
    next: for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as Buffer;
      if (k.length !== length) continue;
      for (let j = 0; j < length; j++) if (k[j] !== b[start + j]) continue next;
      return i;
    }
    return -1;
  }

  /** The string at the cursor as text, or undefined when the literal is not valid JSON. */
  string(): string | undefined {
    if (!this.stringRange()) return undefined;
    const { start, end } = this;
    if (this.escaped) return JSON.parse(this.b.toString('utf8', start - 1, end + 1)) as string;
    // ASCII bytes are the same text in Latin-1 and UTF-8.
    if (this.ascii) return end - start <= INTERN_MAX_BYTES ? this.texts.text(this.b, start, end) : this.b.toString('latin1', start, end);
    return this.b.toString('utf8', start, end);
  }

  /** The string at the cursor read as an event time (see eventTime), or undefined when the literal is not valid JSON. */
  time(): number | undefined {
    if (!this.stringRange()) return undefined;
    if (!this.escaped && this.ascii) return eventTimeOfAscii(this.b, this.start, this.end);
    return eventTime(this.escaped ? (JSON.parse(this.b.toString('utf8', this.start - 1, this.end + 1)) as string) : this.b.toString('utf8', this.start, this.end));
  }

  /** The string at the cursor as UTF-8 bytes: a view into the value when nothing needs decoding. */
  stringBytes(): Buffer | undefined {
    if (!this.stringRange()) return undefined;
    const { start, end } = this;
    // ASCII content is valid UTF-8 whatever the rest of the value holds: invalid bytes elsewhere
    // become U+FFFD there without touching ASCII bytes (WHATWG decoding never swallows them).
    if (!this.escaped && (this.ascii || (this.utf8 ??= isUtf8(this.b)))) return this.b.subarray(start, end);
    const text = this.escaped ? (JSON.parse(this.b.toString('utf8', start - 1, end + 1)) as string) : this.b.toString('utf8', start, end);
    return Buffer.from(text, 'utf8');
  }

  /**
   * Scans the string at the cursor, leaving its content range, whether it has escapes and
   * whether it is all ASCII in `start`, `end`, `escaped`, `ascii`; false if it is not a valid JSON string.
   */
  private stringRange(): boolean {
    const b = this.b;
    const n = this.n;
    const start = this.p + 1;
    let p = start;
    let escaped = false;
    let ascii = true;
    for (;;) {
      // Plain string bytes in one tight loop; the table marks `"`, `\`, control characters and non-ASCII bytes.
      let k = 0;
      while (p < n && (k = STRING_STOP[b[p] as number] as number) === 0) p++;
      if (p >= n) return false;
      if (k === 2) {
        ascii = false;
        this.allAscii = false;
        p++;
        continue;
      }
      const c = b[p] as number;
      if (c === QUOTE) break;
      if (c !== BACKSLASH) return false;
      escaped = true;
      const e = p + 1 < n ? (b[p + 1] as number) : -1;
      if (e === 0x75 /* u */) {
        for (let i = 2; i < 6; i++) if (p + i >= n || !isHex(b[p + i] as number)) return false;
        p += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return false;
      p += 2;
    }
    this.p = p + 1;
    this.start = start;
    this.end = p;
    this.escaped = escaped;
    this.ascii = ascii;
    return true;
  }

  /** Skips one JSON value at the cursor, checking its grammar; false when it is not valid JSON (or nested too deep to be sure). */
  skip(): boolean {
    const c0 = this.peek();
    if (c0 === QUOTE) return this.stringRange();
    if (c0 !== LBRACE && c0 !== LBRACKET) return this.scalar(c0);
    // The open containers as bits, innermost lowest: 1 an object, 0 an array.
    let stack = 0;
    let depth = 0;
    for (;;) {
      // A value is expected here.
      this.ws();
      const c = this.peek();
      if (c === LBRACE || c === LBRACKET) {
        this.p++;
        this.ws();
        const close = c === LBRACE ? RBRACE : RBRACKET;
        if (this.peek() === close) {
          this.p++;
        } else {
          if (depth === MAX_SKIP_DEPTH) return false;
          depth++;
          stack = (stack << 1) | (c === LBRACE ? 1 : 0);
          if (c === LBRACE && !this.memberName()) return false;
          continue;
        }
      } else if (c === QUOTE) {
        if (!this.stringRange()) return false;
      } else if (!this.scalar(c)) {
        return false;
      }
      // After a value: close containers or move to the next element.
      for (;;) {
        if (depth === 0) return true;
        this.ws();
        const d = this.peek();
        const inObject = (stack & 1) === 1;
        if (d === COMMA) {
          this.p++;
          if (inObject) {
            this.ws();
            if (!this.memberName()) return false;
          }
          break;
        }
        if ((d === RBRACE && inObject) || (d === RBRACKET && !inObject)) {
          this.p++;
          stack >>>= 1;
          depth--;
          continue;
        }
        return false;
      }
    }
  }

  /** A number, true, false or null starting with `c`. */
  private scalar(c: number): boolean {
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
    if (c === 0x74) return this.literal(TRUE);
    if (c === 0x66) return this.literal(FALSE);
    if (c === 0x6e) return this.literal(NULL);
    return false;
  }

  /** `"name" :` of an object member being skipped. */
  private memberName(): boolean {
    if (this.peek() !== QUOTE || !this.stringRange()) return false;
    this.ws();
    if (this.peek() !== COLON) return false;
    this.p++;
    return true;
  }

  private number(): boolean {
    const b = this.b;
    const n = this.n;
    let p = this.p;
    if (b[p] === MINUS) p++;
    if (p < n && b[p] === ZERO) {
      p++;
    } else if (p < n && (b[p] as number) > ZERO && (b[p] as number) <= NINE) {
      while (p < n && isDigit(b[p] as number)) p++;
    } else {
      return false;
    }
    if (p < n && b[p] === DOT) {
      p++;
      if (!(p < n && isDigit(b[p] as number))) return false;
      while (p < n && isDigit(b[p] as number)) p++;
    }
    if (p < n && (b[p] === 0x65 || b[p] === 0x45)) {
      p++;
      if (p < n && (b[p] === PLUS || b[p] === MINUS)) p++;
      if (!(p < n && isDigit(b[p] as number))) return false;
      while (p < n && isDigit(b[p] as number)) p++;
    }
    this.p = p;
    return true;
  }

  private literal(word: Buffer): boolean {
    if (this.p + word.length > this.n) return false;
    for (let i = 0; i < word.length; i++) if (this.b[this.p + i] !== word[i]) return false;
    this.p += word.length;
    return true;
  }
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

const SCANNER = new Scanner();
