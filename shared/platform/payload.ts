/**
 * What a host handed over, before any shape is recognised: FC gives the event as a Buffer
 * (https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/user-guide/formats-of-event-for-different-triggers:
 * "the event must be parsed before you can use it"), `sparkfn invoke` reads a file as text, Lambda
 * and in-process callers pass parsed objects.
 */
export type RawPayload = unknown;

/** The JSON value inside `payload`, or `{ ok: false }` when it is bytes or text that is not JSON. */
export function parsePayload(payload: RawPayload): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (payload instanceof Uint8Array) return parseText(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  if (typeof payload === 'string') return parseText(payload);
  return { ok: true, value: payload };
}

function parseText(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  // A UTF-8 byte order mark is not JSON, but editors and some HTTP clients add one.
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') return { ok: false, reason: 'the payload is empty' };
  try {
    return { ok: true, value: JSON.parse(trimmed) };
  } catch (err) {
    return { ok: false, reason: `the payload is not JSON (${(err as Error).message})` };
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
