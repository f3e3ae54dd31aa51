/** The report's locale: numbers as English readers expect them (1,234.56), whatever the machine's locale. */
const LOCALE = 'en-US';

/** Below one cent a bill rounds to zero with two decimals, which hides small jobs: four are kept there. */
const SMALL_MONEY = 0.01;

/**
 * Money in the price file's currency (`CN¥1,234.50`, `$0.0042`); a plain number when the
 * currency is unknown (no priced record, or several currencies).
 * @example formatMoney(1234.5, 'CNY') // 'CN¥1,234.50'
 */
export function formatMoney(value: number, currency: string | null): string {
  const digits = value !== 0 && Math.abs(value) < SMALL_MONEY ? 4 : 2;
  const options: Intl.NumberFormatOptions = { minimumFractionDigits: 2, maximumFractionDigits: digits };
  if (!currency) return value.toLocaleString(LOCALE, options);
  return value.toLocaleString(LOCALE, { ...options, style: 'currency', currency });
}

/** Money with its sign always shown, for changes (`+CN¥1.20`, `−CN¥3.00`). */
export function formatMoneyChange(value: number, currency: string | null): string {
  const text = formatMoney(Math.abs(value), currency);
  return value > 0 ? `+${text}` : value < 0 ? `\u2212${text}` : text;
}

/** A ratio as a signed percentage (`+12.5 %`), or a dash when there is none. */
export function formatRatio(ratio: number | null): string {
  if (ratio === null) return '\u2014';
  const text = `${Math.abs(ratio * 100).toLocaleString(LOCALE, { maximumFractionDigits: 1 })} %`;
  return ratio > 0 ? `+${text}` : ratio < 0 ? `\u2212${text}` : text;
}

/** A duration as people say it: `45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '\u2014';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3600) ? ` ${Math.floor((s % 86_400) / 3600)} h` : ''}`;
}

/** A count of resource-seconds as hours (`12.5 vCPU-h` reads better than `45000`). */
export function formatHours(seconds: number): string {
  return (seconds / 3600).toLocaleString(LOCALE, { maximumFractionDigits: seconds < 36 ? 3 : 1 });
}

/** Escapes text for HTML element content and attribute values (team and app names come from labels). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
