/** pino's numeric levels as people read them. */
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line carries that a person at a terminal does not need repeated. */
const OMITTED = new Set(['level', 'time', 'msg', 'app', 'pid', 'hostname']);

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * One JSON log line (pino's) as a person reads it at a terminal:
 * `10:13:57 WARN  spot breaker opened breaker=cn-hangzhou-h/ecs.c6.xlarge reason=NoStock`.
 * A line that is not a JSON object is returned as it is.
 * @example readableLogLine('{"level":40,"time":"2026-12-06T10:13:57.124Z","msg":"hi","n":1}') // '10:13:57 WARN  hi n=1'
 */
export function readableLogLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    const parsed = JSON.parse(json) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return json.endsWith('\n') ? json : json + '\n';
    entry = parsed as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const level = (LEVEL_NAMES[entry.level as number] ?? String(entry.level ?? '')).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${fieldValue(value)}`);
  return [time, level, String(entry.msg ?? ''), ...fields].filter((part) => part !== '').join(' ') + '\n';
}
