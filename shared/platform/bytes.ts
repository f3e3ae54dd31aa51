import * as z from 'zod';

// Canonical base64 only (padding required): a lenient decoder would silently turn a typo into other bytes.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True when `text` is canonical, padded base64. */
export function isBase64(text: string): boolean {
  return BASE64.test(text);
}

/** A base64 string, decoded to the bytes it carries. */
export const base64Bytes = z
  .string()
  .refine(isBase64, { message: 'must be base64 (A-Z, a-z, 0-9, +, /, padded with =)' })
  .transform((text) => Buffer.from(text, 'base64'));

/**
 * A header value as the Lambda Kafka poller writes it: an array of byte numbers. It is a Java
 * poller, so bytes above 127 may come as negative (signed) numbers; both forms mean the same byte.
 */
export const byteArray = z
  .array(z.number().int().min(-128).max(255))
  .transform((bytes) => Buffer.from(bytes.map((b) => b & 0xff)));

/** Text, encoded as UTF-8. */
export const utf8Bytes = z.string().transform((text) => Buffer.from(text, 'utf8'));

/** Bytes already in memory (a Buffer or any Uint8Array), as a Buffer that shares no memory with the input. */
export const inMemoryBytes = z.instanceof(Uint8Array).transform((bytes) => Buffer.from(bytes));

/**
 * Bytes in the local JSON shape: a plain string is UTF-8 text (what Filebeat and kube-eventer
 * produce), `{ "base64": "…" }` carries arbitrary bytes, and a Buffer passes through in-process.
 */
export const localBytes = z.union([
  utf8Bytes,
  z.strictObject({ base64: base64Bytes }).transform((b) => b.base64),
  inMemoryBytes,
]);
