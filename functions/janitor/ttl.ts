import { InvalidInputError } from '../../shared/errors.js';

/** A time to live: milliseconds, or `forever` (never expires). */
export type Ttl = number | 'forever';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a kube-janitor style TTL: a whole number and one unit (`30s`, `30m`, `6h`, `2d`, `1w`),
 * or `forever`. Anything else is an InvalidInputError naming `what`: a TTL is never guessed.
 * @example parseTtl('6h', 'annotation sparkfn.io/ttl') // 21600000
 */
export function parseTtl(text: string, what = 'TTL'): Ttl {
  const value = text.trim();
  if (value === 'forever') return 'forever';
  const m = /^(\d{1,9})([smhdw])$/.exec(value);
  if (!m) {
    throw new InvalidInputError(
      `The ${what} ${JSON.stringify(text.slice(0, 40))} is not a TTL; write a whole number and a unit (30m, 6h, 2d, 1w) or forever.`,
      'invalid-ttl',
    );
  }
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** `1h`, `2d 3h`, `forever`: a TTL for people (tables, logs). */
export function formatTtl(ttl: Ttl): string {
  if (ttl === 'forever') return 'forever';
  if (ttl === 0) return '0s';
  const parts: string[] = [];
  let rest = ttl;
  for (const [unit, ms] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (rest >= ms) {
      parts.push(`${Math.floor(rest / ms)}${unit}`);
      rest %= ms;
    }
  }
  return parts.join(' ') || `${ttl}ms`;
}

/** When something that finished at `finishedAt` expires under `ttl` (Infinity for forever). */
export function expiresAt(finishedAt: number, ttl: Ttl, extraMs = 0): number {
  return ttl === 'forever' ? Number.POSITIVE_INFINITY : finishedAt + ttl + extraMs;
}
