/** Media types a browser puts first when it navigates to a page. */
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

/**
 * Whether the client asked for a page: the first media type of its Accept header is HTML (every
 * browser navigation sends `text/html,…` first). curl's and fetch's `*\/*`, a missing header,
 * Spark's own HTTP clients and `?format=text` keep getting text and JSON.
 * @example wantsHtml({ accept: 'text/html,application/xhtml+xml,*\/*;q=0.8' }, {}) // true
 */
export function wantsHtml(headers: Record<string, string>, query: Record<string, string>): boolean {
  if (query.format !== undefined) return query.format === 'html';
  const first = (headers.accept ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase() ?? '';
  return HTML_TYPES.has(first);
}
