import { InvalidInputError } from '../../shared/errors.js';

/**
 * A resource.Quantity as an exact count of thousandths (`500m` → 500n, `1Gi` → 1073741824000n).
 * BigInt because memory quotas in bytes times 1000 pass 2^53; thousandths because that is the
 * finest unit ResourceQuota compares CPU in (smaller fractions round up, as kube's MilliValue does).
 */
export type Milli = bigint;

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b < a ? q + 1n : q;
}

/**
 * Parses a Kubernetes quantity (`2`, `500m`, `1.5Gi`, `4G`, `1e3`) into thousandths, rounding a
 * positive fraction of a thousandth up. Throws InvalidInputError naming `what` on anything else.
 * @example parseMilli('1500m') // 1500n
 */
export function parseMilli(text: unknown, what = 'quantity'): Milli {
  const raw = typeof text === 'number' ? String(text) : text;
  const match = typeof raw === 'string' ? QUANTITY.exec(raw.trim()) : null;
  if (!match) throw new InvalidInputError(`The ${what} ${JSON.stringify(text)} is not a Kubernetes quantity (e.g. 500m, 2, 4Gi).`, 'invalid-quantity');
  const [, sign, number, suffix = ''] = match;
  const [whole = '0', fraction = ''] = number!.split('.');
  const digits = BigInt((whole || '0') + fraction);
  let numerator = digits * 1000n;
  let denominator = 10n ** BigInt(fraction.length);
  if (suffix in BINARY) numerator *= BINARY[suffix]!;
  else {
    const exponent = suffix in DECIMAL ? DECIMAL[suffix]! : Number(suffix.slice(1));
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
  }
  const value = ceilDiv(numerator, denominator);
  return sign === '-' ? -value : value;
}

/** Thousandths back to a quantity string (`1500m`, `2`, `3221225472`), for logs and queue entries. */
export function formatMilli(value: Milli): string {
  return value % 1000n === 0n ? String(value / 1000n) : `${value}m`;
}
