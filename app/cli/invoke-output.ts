import { isHttpResult } from '../../shared/platform/http-response.js';

/** Content types printed as text; any other body is printed as base64. */
const TEXT_TYPE = /^\s*(text\/|application\/(json|[\w.+-]*\+json|xml|[\w.+-]*\+xml|javascript)\b)/i;

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * What `sparkfn invoke` prints for a function's result: one JSON document. A run summary is
 * printed as it is; an HTTP answer (log-viewer's) as `{status, headers, body}` with the body read
 * whole, as text for textual content types and base64 (with `isBase64Encoded: true`, as Lambda
 * and FC write it) otherwise, instead of a Buffer's byte array or a dumped stream object.
 */
export async function invokeOutput(result: unknown): Promise<string> {
  if (!isHttpResult(result)) return JSON.stringify(result ?? null, null, 2) + '\n';
  const { status, headers = {}, body } = result;
  if (body === undefined) return JSON.stringify({ status, headers }, null, 2) + '\n';
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.isBuffer(body) ? body : await readAll(body);
  const contentType = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  const text = TEXT_TYPE.test(contentType);
  return JSON.stringify({ status, headers, body: bytes.toString(text ? 'utf8' : 'base64'), ...(text ? {} : { isBase64Encoded: true }) }, null, 2) + '\n';
}

/**
 * A sentence for standard error when a job-cost run wrote records without money (no
 * SPARKFN_COST_PRICE_FILE, or no price for a spec), so that `total: null` in the printed result is
 * not mistaken for a cost of nothing; undefined otherwise.
 */
export function unpricedNotice(functionName: string, result: unknown): string | undefined {
  if (functionName !== 'job-cost') return undefined;
  // The listener's POST answers HTTP, with the run summary as its JSON body.
  let summary = result;
  if (isHttpResult(result)) {
    try {
      summary = typeof result.body === 'string' || Buffer.isBuffer(result.body) ? JSON.parse(result.body.toString()) : undefined;
    } catch {
      return undefined;
    }
  }
  const records = (summary as { records?: unknown } | null | undefined)?.records;
  if (!Array.isArray(records)) return undefined;
  const unpriced = records.filter((r) => (r as { total?: unknown }).total === null).map((r) => String((r as { key?: unknown }).key));
  if (unpriced.length === 0) return undefined;
  return `job-cost: ${unpriced.length} record(s) written without money (total: null), because no price applies: ${unpriced.join(', ')}. Set SPARKFN_COST_PRICE_FILE (e.g. deploy/prices.example.yaml, sample prices) to price them.`;
}
