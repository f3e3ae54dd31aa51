/**
 * Recognises, on raw bytes, the few event types cost needs, so that the rest (task, stage, job,
 * block manager, SQL and metrics events: nearly all of a log's bytes) is skipped without being
 * decoded or parsed. Spark's JsonProtocol (Jackson) writes `Event` as the first field, so a line
 * starts with `{"Event":"<name>"`; other writers are handled by looking for the field a little
 * further in.
 */
export const WANTED_EVENTS = [
  'SparkListenerApplicationStart',
  'SparkListenerApplicationEnd',
  'SparkListenerEnvironmentUpdate',
  'SparkListenerResourceProfileAdded',
  'SparkListenerExecutorAdded',
  'SparkListenerExecutorRemoved',
] as const;
export type WantedEvent = (typeof WANTED_EVENTS)[number];

/** Bytes of a line's head that always decide its kind: `{"Event":"SparkListenerResourceProfileAdded"` is 45. */
export const DECIDING_BYTES = 96;
/** How far into a line the `"Event":"` field is looked for when the line does not start with it. */
const FIELD_SEARCH_BYTES = 256;

const LINE_PREFIX = Buffer.from('{"Event":"', 'latin1');
const FIELD = Buffer.from('"Event":"', 'latin1');
const SPARK_LISTENER = Buffer.from('SparkListener', 'latin1');
const WANTED: ReadonlySet<string> = new Set(WANTED_EVENTS);
const QUOTE = 0x22;
// First letters after `SparkListener` of the wanted names: Application*, Environment*/Executor*, ResourceProfileAdded.
const A = 0x41;
const E = 0x45;
const R = 0x52;

function startsWith(buf: Buffer, at: number, end: number, prefix: Buffer): boolean {
  if (end - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

function nameAt(buf: Buffer, at: number, end: number): WantedEvent | undefined {
  if (!startsWith(buf, at, end, SPARK_LISTENER)) return undefined;
  const first = buf[at + SPARK_LISTENER.length];
  if (first !== A && first !== E && first !== R) return undefined;
  const close = buf.indexOf(QUOTE, at + SPARK_LISTENER.length);
  if (close < 0 || close > end || close - at > 64) return undefined;
  const name = buf.toString('latin1', at, close);
  return WANTED.has(name) ? (name as WantedEvent) : undefined;
}

/**
 * The wanted event type of the line `buf[start, end)`, or undefined when cost does not need it
 * (any other event type, a blank or non-event line). Looks at the first bytes only.
 * @example wantedEventOf(Buffer.from('{"Event":"SparkListenerTaskEnd",…}'), 0, 40) // undefined
 */
export function wantedEventOf(buf: Buffer, start: number, end: number): WantedEvent | undefined {
  if (startsWith(buf, start, end, LINE_PREFIX)) return nameAt(buf, start + LINE_PREFIX.length, end);
  const at = buf.indexOf(FIELD, start);
  if (at < 0 || at >= end || at - start > FIELD_SEARCH_BYTES) return undefined;
  return nameAt(buf, at + FIELD.length, end);
}
