import { isUtf8 } from 'node:buffer';
import { keySegmentProblem } from '../../shared/ids.js';
import type { KafkaRecord } from '../../shared/platform/trigger.js';
import { objectKeyProblem } from '../../shared/store/object-key.js';
import { MAX_CHUNK_KEY_BYTES, chunkKey } from './chunk-key.js';
import { type ValueFacts, extractFilebeat } from './fast-extract.js';
import type { FilebeatEvent } from './filebeat-event.js';
import { type LogStream, resolveIdentity, streamOf } from './identity.js';
import { matchKeyTemplate } from './key-template.js';
import type { ArchiverSettings } from './settings.js';

/** Why a record went to the dead-letter folder. */
export type DeadLetterReason =
  | 'empty-value'
  | 'invalid-json'
  | 'not-object'
  | 'message-missing'
  | 'message-not-string'
  | 'no-identity'
  | 'unsafe-id'
  | 'line-too-long'
  /** The record's chunk failed every write attempt while the store took other writes (archive-batch.ts). */
  | 'write-failed';

/** One line to archive, with whose log it is and where it came from. */
export interface LogEntry {
  appId: string;
  executorId: string;
  stream: LogStream;
  appType?: string;
  namespace?: string;
  podName?: string;
  /**
   * The SparkApplication's name, by shared/spark/app-identity.ts's order: the operator's
   * `sparkoperator.k8s.io/app-name` label (dotted or dedotted), else `spark-app-name`. How an
   * app-end event (which names the SparkApplication) finds the logs.
   */
  appName?: string;
  topic: string;
  partition: number;
  offset: number;
  /** Event time (Filebeat `@timestamp`, else the Kafka timestamp), ms since the epoch; 0 when unknown. */
  time: number;
  /** The line's UTF-8 bytes, without a trailing newline (the chunk adds one). */
  line: Buffer;
}

export type RecordOutcome =
  | { kind: 'tombstone' }
  | { kind: 'rejected'; reason: DeadLetterReason; detail: string }
  | {
      kind: 'entry';
      entry: LogEntry;
      /** The value was not valid UTF-8: the line holds U+FFFD where bytes were replaced. */
      invalidUtf8: boolean;
      /** Set when the line was cut to `maxLineBytes`: the record is dead-lettered too. */
      tooLong?: { detail: string };
    };

/**
 * What one Kafka record becomes: a line to archive, a rejection with its reason, or nothing
 * (a tombstone). A value is a Filebeat JSON event, or a plain text line when the record key
 * carries the identity (then anything but a JSON object is taken as the line itself).
 * The record's offset must be a decimal integer below 2^53 (see `offsetProblem`). `cache`
 * remembers id checks across the records of a batch (a batch has few distinct writers).
 * @example parseRecord(record, DEFAULT_SETTINGS).kind // 'entry'
 */
export function parseRecord(record: KafkaRecord, settings: ArchiverSettings, cache?: PlaceChecks): RecordOutcome {
  const { value } = record;
  if (value === null) return { kind: 'tombstone' };
  const offset = Number(record.offset);
  if (value.length === 0) return rejected('empty-value', 'The record value is empty.');

  const key = settings.identityOrder.includes('key') ? matchKeyTemplate(settings.keyTemplate, record.key) : undefined;
  const keyIdentity = key ? resolveIdentity(key, undefined, ['key']) : undefined;
  // Only an object can be a Filebeat event; skip the parse for a plain line whose key says whose it is.
  const extracted = keyIdentity && firstNonSpace(value) !== 0x7b ? undefined : extractFilebeat(value, FACTS);

  let event: FilebeatEvent | undefined;
  let line: Buffer;
  let invalidUtf8 = false;
  if (extracted?.kind === 'event') {
    event = extracted.event;
    if (event.messageType === 'missing') return rejected('message-missing', 'The Filebeat event has no message field.');
    if (event.messageType === 'other') return rejected('message-not-string', 'The Filebeat event has a message that is not a string.');
    line = event.message as Buffer;
    invalidUtf8 = !FACTS.ascii && !isUtf8(value);
  } else if (keyIdentity) {
    invalidUtf8 = !isUtf8(value);
    line = plainLine(invalidUtf8 ? Buffer.from(value.toString('utf8'), 'utf8') : value);
  } else if (extracted?.kind === 'not-object') {
    return rejected('not-object', `The value is JSON but a ${extracted.jsonType}, not a Filebeat event object, and the record key carries no identity.`);
  } else {
    return rejected('invalid-json', `The value is not JSON (${extracted?.kind === 'invalid-json' ? extracted.detail : 'unreadable'}) and the record key carries no identity.`);
  }

  const identity = event ? resolveIdentity(key, event, settings.identityOrder) : keyIdentity;
  if (!identity) {
    return rejected('no-identity', 'No app and executor id: not in the record key, not in fields.app_id / fields.executor_id, not in the Spark pod labels.');
  }
  const stream = streamOf(key?.stream, event);
  const problem = placeProblem(identity.appId, identity.executorId, identity.source, record.topic, cache);
  if (problem) return rejected('unsafe-id', problem);

  let tooLong: { detail: string } | undefined;
  if (line.length > settings.maxLineBytes) {
    tooLong = { detail: `The line has ${line.length} bytes; ${settings.maxLineBytes} were kept, followed by a truncation marker.` };
    line = truncateLine(line, settings.maxLineBytes);
  }

  const parsedTime = event?.time ?? NaN;
  // Every field in one literal, the absent ones undefined: one object shape for all entries, and
  // no property store grown per entry (as adding them one by one would).
  const entry: LogEntry = {
    appId: identity.appId,
    executorId: identity.executorId,
    stream,
    appType: identity.appType || undefined,
    namespace: event?.namespace || undefined,
    podName: event?.podName || undefined,
    // sparkApplicationNameOf's order, spelled out: this runs per line and allocates nothing.
    appName: event ? event.labels.operatorAppName || event.labels.operatorAppNameDedotted || event.labels.appName || undefined : undefined,
    topic: record.topic,
    partition: record.partition,
    offset,
    time: Number.isFinite(parsedTime) && parsedTime > 0 ? parsedTime : (record.timestamp ?? 0),
    line,
  };
  return tooLong ? { kind: 'entry', entry, invalidUtf8, tooLong } : { kind: 'entry', entry, invalidUtf8 };
}

/** Filled in by each extractFilebeat call (parseRecord is synchronous). */
const FACTS: ValueFacts = { ascii: false };

/** What parseRecord remembers of id checks within a batch: topic → app id → executor id → identity source → problem. */
export type PlaceChecks = Map<string, Map<string, Map<string, Map<string, string | undefined>>>>;

/** Why an app and executor id cannot name a chunk of `topic`, or undefined; remembered in `cache`. */
function placeProblem(appId: string, executorId: string, source: string, topic: string, cache: PlaceChecks | undefined): string | undefined {
  // Nested by each part: a lookup by an id hashes it, a joined key would be a new string per record.
  let byPlace: Map<string, string | undefined> | undefined;
  if (cache) {
    let byApp = cache.get(topic);
    if (!byApp) cache.set(topic, (byApp = new Map()));
    let byExecutor = byApp.get(appId);
    if (!byExecutor) byApp.set(appId, (byExecutor = new Map()));
    byPlace = byExecutor.get(executorId);
    if (!byPlace) byExecutor.set(executorId, (byPlace = new Map()));
    if (byPlace.has(source)) return byPlace.get(source);
  }
  let problem: string | undefined;
  for (const [what, value] of [
    ['app id', appId],
    ['executor id', executorId],
  ] as const) {
    const p = keySegmentProblem(value);
    if (p) {
      problem = `The ${what} ${JSON.stringify(value.slice(0, 80))} (from the ${source}) ${p}.`;
      break;
    }
  }
  if (!problem) {
    // The longest chunk name this place can get (partition 2^31, 20-digit offsets), checked as
    // every store checks a key: a record whose chunk no store can hold is dead-lettered now, not
    // retried on every delivery.
    const longest = chunkKey({ appId, executorId, stream: 'stdout', topic, partition: 2 ** 31, firstOffset: 0, lastOffset: 0 });
    const keyProblem = objectKeyProblem(longest);
    if (keyProblem) problem = `The app id ${JSON.stringify(appId.slice(0, 80))}, executor id and topic make a chunk key that ${keyProblem}.`;
    else if (Buffer.byteLength(longest) > MAX_CHUNK_KEY_BYTES) problem = `The app id, executor id and topic together make an object key longer than ${MAX_CHUNK_KEY_BYTES} bytes.`;
  }
  byPlace?.set(source, problem);
  return problem;
}

/** The marker a cut line ends with, so that a reader sees it was cut. */
export function truncationMarker(keptBytes: number, totalBytes: number): string {
  return ` […truncated by sparkfn log-archiver: ${keptBytes} of ${totalBytes} bytes kept]`;
}

/** `line` cut to at most `max` bytes on a UTF-8 character boundary, with the marker appended. */
export function truncateLine(line: Buffer, max: number): Buffer {
  let cut = max;
  // Back up over continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && ((line[cut] as number) & 0xc0) === 0x80) cut--;
  return Buffer.concat([line.subarray(0, cut), Buffer.from(truncationMarker(cut, line.length), 'utf8')]);
}

function rejected(reason: DeadLetterReason, detail: string): RecordOutcome {
  return { kind: 'rejected', reason, detail };
}

function firstNonSpace(value: Buffer): number {
  for (const c of value) if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c;
  return -1;
}

/** A plain-text value as a line: one trailing newline (LF or CRLF) dropped, since every line gets one. */
function plainLine(value: Buffer): Buffer {
  let end = value.length;
  if (value[end - 1] === 0x0a) end--;
  if (end < value.length && value[end - 1] === 0x0d) end--;
  return value.subarray(0, end);
}

/**
 * Why a record's offset cannot be used, or undefined. Kafka offsets are int64, but 2^53 records
 * in one partition (285 years at a million a second) do not happen; adapters hand over digits.
 */
export function offsetProblem(offset: string): string | undefined {
  // A loop rather than /^\d{1,16}$/: this runs for every record of every batch.
  const n = offset.length;
  let digits = n >= 1 && n <= 16;
  for (let i = 0; digits && i < n; i++) {
    const c = offset.charCodeAt(i);
    digits = c >= 0x30 && c <= 0x39;
  }
  if (!digits || !Number.isSafeInteger(Number(offset))) return `is not a whole number below 2^53`;
  return undefined;
}
