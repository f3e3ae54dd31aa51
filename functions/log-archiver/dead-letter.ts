import { isUtf8 } from 'node:buffer';
import type { KafkaRecord } from '../../shared/platform/trigger.js';
import { padOffset } from './chunk-key.js';
import type { DeadLetterReason } from './parse-record.js';

/** Where log-archiver's rejected records go (DESIGN.md: `deadletter/<function>/…`). */
export const DEAD_LETTER_PREFIX = 'deadletter/log-archiver/';

/**
 * `deadletter/log-archiver/<topic>/<partition>/<offset>.json`, the offset zero-padded to 20
 * digits like chunk keys, so a listing is in offset order. A re-delivered record overwrites it.
 */
export function deadLetterKey(topic: string, partition: number, offset: number): string {
  return `${DEAD_LETTER_PREFIX}${topic}/${partition}/${padOffset(offset)}.json`;
}

/** The JSON document of a dead letter: the record as received, and why it was rejected. */
export interface DeadLetter {
  function: 'log-archiver';
  topic: string;
  partition: number;
  offset: string;
  timestamp?: number;
  key: string | null;
  keyEncoding: 'utf8' | 'base64';
  value: string | null;
  valueEncoding: 'utf8' | 'base64';
  headers: Record<string, { text: string; encoding: 'utf8' | 'base64' }>;
  reason: DeadLetterReason;
  detail: string;
  /** For `write-failed`: how many times the record's chunk was tried. */
  attempts?: number;
}

/**
 * The dead letter of `record`. Key, value and headers are kept byte for byte: as text when they
 * are UTF-8, else base64. Nothing in it depends on when it was written, so a retry rewrites the
 * same bytes.
 */
export function deadLetter(record: KafkaRecord, reason: DeadLetterReason, detail: string, attempts?: number): DeadLetter {
  const key = encodeBytes(record.key);
  const value = encodeBytes(record.value);
  const headers: DeadLetter['headers'] = {};
  for (const [name, bytes] of Object.entries(record.headers)) {
    const header = encodeBytes(bytes);
    headers[name] = { text: header.text as string, encoding: header.encoding };
  }
  return {
    function: 'log-archiver',
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    ...(record.timestamp !== undefined && { timestamp: record.timestamp }),
    key: key.text,
    keyEncoding: key.encoding,
    value: value.text,
    valueEncoding: value.encoding,
    headers,
    reason,
    detail,
    ...(attempts !== undefined && { attempts }),
  };
}

/** Decodes a dead letter's value back to the bytes the record carried. */
export function deadLetterValue(letter: Pick<DeadLetter, 'value' | 'valueEncoding'>): Buffer | null {
  if (letter.value === null) return null;
  return Buffer.from(letter.value, letter.valueEncoding);
}

function encodeBytes(bytes: Buffer | null): { text: string | null; encoding: 'utf8' | 'base64' } {
  if (bytes === null) return { text: null, encoding: 'utf8' };
  return isUtf8(bytes) ? { text: bytes.toString('utf8'), encoding: 'utf8' } : { text: bytes.toString('base64'), encoding: 'base64' };
}
