import { randomBytes } from 'node:crypto';
import type { HttpResult } from '../../../shared/platform/trigger.js';
import { escapeHtml } from './escape.js';

/** Bytes of randomness in a page's CSP nonce (128 bits, as CSP Level 3 recommends at least). */
const NONCE_BYTES = 16;

/**
 * The pages' Content-Security-Policy: nothing may load from anywhere (no external scripts,
 * styles, fonts, images or frames); the one inline style and script run by nonce; scripts may
 * fetch from this origin only (follow, search); forms post nowhere else.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    'img-src data:',
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Colours and layout of every page: system fonts, no external resource. */
const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2329;background:#fff}
header{background:#1f3a5f;color:#fff;padding:8px 16px}header a{color:#fff}
main{padding:12px 16px}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #dde2e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#66707a}.live{color:#0a7d32;font-weight:600}.archived{color:#66707a}
nav.pager a,nav.pager span{margin-right:12px}
form.search{margin:8px 0}form.search input[type=text]{width:28em}
pre.log{font:12px/1.45 ui-monospace,monospace;background:#0f1419;color:#d8dee4;padding:8px 0;margin:8px 0;overflow-x:auto;counter-reset:none}
pre.log .l{display:block;padding:0 8px;white-space:pre-wrap;word-break:break-all}
pre.log .n{display:inline-block;min-width:6em;color:#6b7785;user-select:none;text-align:right;margin-right:12px}
pre.log .hit{background:#3d3200}pre.log .sep{color:#6b7785}
.a-b{font-weight:700}
.a-fg0{color:#6b7785}.a-fg1{color:#f0716b}.a-fg2{color:#7fd67f}.a-fg3{color:#e6c35c}.a-fg4{color:#6cb3f2}.a-fg5{color:#d68bea}.a-fg6{color:#5fd3d3}.a-fg7{color:#d8dee4}
.a-fg8{color:#8c96a0}.a-fg9{color:#ff9a94}.a-fg10{color:#a5f0a5}.a-fg11{color:#ffe08a}.a-fg12{color:#9ccfff}.a-fg13{color:#f0b3ff}.a-fg14{color:#8ff0f0}.a-fg15{color:#fff}
.error{color:#b3261e}
`;

export interface PageParts {
  title: string;
  /** Breadcrumb links shown in the header, already escaped HTML. */
  crumbs: string;
  /** The page's main content, already escaped HTML. */
  body: string;
  /** JavaScript run by nonce, if the page needs any. */
  script?: string;
  status?: number;
}

/**
 * A complete HTML page as an HTTP result, with the CSP that forbids every external resource,
 * `nosniff`, no referrer (log URLs name apps) and no caching (logs may hold secrets).
 */
export function htmlPage(parts: PageParts): HttpResult {
  const nonce = randomBytes(NONCE_BYTES).toString('base64');
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(parts.title)}</title><style nonce="${nonce}">${STYLE}</style></head>
<body><header>${parts.crumbs}</header><main>${parts.body}</main>${parts.script ? `<script nonce="${nonce}">${parts.script}</script>` : ''}</body></html>
`;
  return {
    status: parts.status ?? 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': contentSecurityPolicy(nonce),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    },
    body,
  };
}

/** `<a href="…">text</a>` with both parts escaped. */
export function link(href: string, text: string, attributes = ''): string {
  return `<a href="${escapeHtml(href)}"${attributes}>${escapeHtml(text)}</a>`;
}

/** Bytes as people read them: 812 B, 14.2 KiB, 3.1 MiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** An ISO time shown as `2025-05-14 02:15:00Z`, or a dash when unknown. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** The header's breadcrumbs: Logs › app › executor stream. */
export function crumbs(parts: { href?: string; text: string }[]): string {
  return parts.map((p) => (p.href ? link(p.href, p.text) : `<span>${escapeHtml(p.text)}</span>`)).join(' › ');
}
