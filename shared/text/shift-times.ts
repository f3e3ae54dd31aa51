/** ISO 8601 UTC times as Kubernetes and our samples write them, with or without fractional seconds. */
const ISO_UTC = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z/g;

/**
 * `text` (a JSON sample, including JSON nested in its strings) with every ISO UTC time in it moved
 * by `offsetMs`, each kept at its precision, so that recorded samples replay as if they had just
 * happened.
 * @example shiftIsoTimes('{"lastTimestamp":"2025-05-14T02:26:30Z"}', 60_000) // '{"lastTimestamp":"2025-05-14T02:27:30Z"}'
 */
export function shiftIsoTimes(text: string, offsetMs: number): string {
  return text.replace(ISO_UTC, (time) => {
    const moved = new Date(Date.parse(time) + offsetMs).toISOString();
    return time.includes('.') ? moved : moved.replace(/\.\d{3}Z$/, 'Z');
  });
}
