/**
 * `Date.parse(text)`, with a fast path for the form Filebeat writes `@timestamp` in
 * (`2025-05-14T02:00:00.007Z`): Date.parse costs about as much as reading the rest of the event.
 * Anything else (other fractions, offsets, days past the 28th, hour 24, …) goes to Date.parse,
 * so the result is always exactly Date.parse's.
 * @example eventTime('2025-05-14T02:00:00.007Z') // 1747188000007
 */
export function eventTime(text: string): number {
  // YYYY-MM-DDTHH:MM:SS.sssZ or YYYY-MM-DDTHH:MM:SSZ
  const n = text.length;
  if (
    (n !== 24 && n !== 20) ||
    text.charCodeAt(4) !== 0x2d ||
    text.charCodeAt(7) !== 0x2d ||
    text.charCodeAt(10) !== 0x54 ||
    text.charCodeAt(13) !== 0x3a ||
    text.charCodeAt(16) !== 0x3a ||
    text.charCodeAt(n - 1) !== 0x5a ||
    (n === 24 && text.charCodeAt(19) !== 0x2e)
  ) {
    return Date.parse(text);
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const ms = n === 24 ? digits(text, 20, 3) : 0;
  // Days up to the 28th exist in every month; the rest (and hour 24, leap seconds, years below
  // 1000, which Date.UTC would read as 19xx for 0-99) Date.parse judges.
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return Date.parse(text);
  return utcMs(year, month, day, hour, minute, second, ms);
}

/** The decimal number in `count` characters of `text` from `at`, or -1 if one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * eventTime of the ASCII text in `bytes[start, end)` (no escapes: the caller checked), read
 * straight from the bytes in Filebeat's form, so that no string is made for it; anything else
 * is decoded and left to eventTime.
 * @example eventTimeOfAscii(Buffer.from('"2025-05-14T02:00:00.007Z"'), 1, 25) // 1747188000007
 */
export function eventTimeOfAscii(bytes: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (
    (n === 24 || n === 20) &&
    bytes[start + 4] === 0x2d &&
    bytes[start + 7] === 0x2d &&
    bytes[start + 10] === 0x54 &&
    bytes[start + 13] === 0x3a &&
    bytes[start + 16] === 0x3a &&
    bytes[end - 1] === 0x5a &&
    (n === 20 || bytes[start + 19] === 0x2e)
  ) {
    const year = byteDigits(bytes, start, 4);
    const month = byteDigits(bytes, start + 5, 2);
    const day = byteDigits(bytes, start + 8, 2);
    const hour = byteDigits(bytes, start + 11, 2);
    const minute = byteDigits(bytes, start + 14, 2);
    const second = byteDigits(bytes, start + 17, 2);
    const ms = n === 24 ? byteDigits(bytes, start + 20, 3) : 0;
    // The same bounds as eventTime: the rest is Date.parse's to judge.
    if (!(year < 1000 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0)) {
      return utcMs(year, month, day, hour, minute, second, ms);
    }
  }
  return eventTime(Buffer.from(bytes.buffer, bytes.byteOffset + start, n).toString('latin1'));
}

function byteDigits(bytes: Uint8Array, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = (bytes[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * Date.UTC(year, month - 1, …) for the fields the fast paths accept (year 1000-9999, a valid
 * month, day, time), in integer arithmetic: Date.UTC costs as much as the rest of the reading.
 * Days from the civil date as in https://howardhinnant.github.io/date_algorithms.html#days_from_civil.
 */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  const days = era * 146097 + dayOfEra - 719468;
  return ((days * 24 + hour) * 60 + minute) * 60000 + second * 1000 + ms;
}
