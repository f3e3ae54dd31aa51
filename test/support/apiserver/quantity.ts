/**
 * resource.Quantity from k8s.io/apimachinery: parsing, exact arithmetic and the canonical
 * string form kube-apiserver prints in quota messages and stores in objects. Values are kept
 * as an exact count of nano-units (kube rounds anything finer up to 1n).
 */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** An exact value and the format it prints in (the suffix family it was written with). */
export interface Quantity {
  nanos: bigint;
  format: QuantityFormat;
}

/** The message kube-apiserver's JSON decoder gives for a malformed quantity. */
export const QUANTITY_SYNTAX_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NANO = 1_000_000_000n;
const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIX).map(([s, e]) => [e, s]));
const BINARY_NAMES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n === b > 0n ? q + 1n : q;
}

/** Parses `500m`, `2`, `1.5Gi`, `1e3`, `64Mi`, or a JSON number; throws on anything else. */
export function parseQuantity(input: string | number): Quantity {
  const text = typeof input === 'number' ? String(input) : input.trim();
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/.exec(text);
  if (!m || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) throw new Error(QUANTITY_SYNTAX_ERROR);
  const sign = m[1] === '-' ? -1n : 1n;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  const suffix = m[4] ?? '';
  let format: QuantityFormat;
  let numerator = BigInt((intPart + fracPart) || '0');
  let denominator = 10n ** BigInt(fracPart.length);
  const exponent = /^[eE]([+-]?\d+)$/.exec(suffix);
  if (exponent) {
    format = 'DecimalExponent';
    const e = Number(exponent[1]);
    if (e >= 0) numerator *= 10n ** BigInt(e);
    else denominator *= 10n ** BigInt(-e);
  } else if (suffix in BINARY_SUFFIX) {
    format = 'BinarySI';
    numerator *= 2n ** BigInt(BINARY_SUFFIX[suffix]!);
  } else if (suffix in DECIMAL_SUFFIX) {
    format = 'DecimalSI';
    const e = DECIMAL_SUFFIX[suffix]!;
    if (e >= 0) numerator *= 10n ** BigInt(e);
    else denominator *= 10n ** BigInt(-e);
  } else {
    throw new Error(QUANTITY_SYNTAX_ERROR);
  }
  return { nanos: sign * ceilDiv(numerator * NANO, denominator), format };
}

/** Quantity.String(): the largest suffix that loses no precision and needs no fraction. */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    const small = q.nanos > -1024n * NANO && q.nanos < 1024n * NANO;
    if (small || q.nanos % NANO !== 0n) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    let amount = q.nanos / NANO;
    let power = 0;
    while (power < BINARY_NAMES.length - 1 && amount % 1024n === 0n) {
      amount /= 1024n;
      power++;
    }
    return `${amount}${BINARY_NAMES[power]}`;
  }
  let mantissa = q.nanos;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const rem = exponent % 3;
  if (rem === 1 || rem === -2) {
    mantissa *= 10n;
    exponent -= 1;
  } else if (rem === 2 || rem === -1) {
    mantissa *= 100n;
    exponent -= 2;
  }
  if (format === 'DecimalExponent') return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
  while (exponent > 18) {
    mantissa *= 1000n;
    exponent -= 3;
  }
  return `${mantissa}${DECIMAL_BY_EXPONENT.get(exponent) ?? ''}`;
}

/** Quantity.Add: the sum keeps the left operand's format unless the left one is zero. */
export function addQuantity(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

/** Quantity.Cmp: -1, 0 or 1. */
export function compareQuantity(a: Quantity, b: Quantity): number {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

/** The zero quantity the quota controller reports for untouched resources. */
export const ZERO: Quantity = { nanos: 0n, format: 'DecimalSI' };

/** Re-emits a quantity in canonical form, as a round trip through kube-apiserver does. */
export function canonicalQuantity(input: string | number): string {
  return formatQuantity(parseQuantity(input));
}

/** A corev1.ResourceList with parsed values. */
export type ResourceList = Map<string, Quantity>;

/** quota.Add: keys of both; values added with Quantity.Add. */
export function addResourceLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map(a);
  for (const [k, v] of b) {
    const existing = out.get(k);
    out.set(k, existing ? addQuantity(existing, v) : v);
  }
  return out;
}

/** quota.Mask: only the given keys. */
export function maskResourceList(list: ResourceList, keys: Iterable<string>): ResourceList {
  const out: ResourceList = new Map();
  for (const k of keys) {
    const v = list.get(k);
    if (v) out.set(k, v);
  }
  return out;
}

/** A JSON ResourceList (`{ cpu: "500m" }`) parsed; non-quantity values are skipped. */
export function parseResourceList(raw: unknown): ResourceList {
  const out: ResourceList = new Map();
  if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof v === 'string' || typeof v === 'number') out.set(k, parseQuantity(v));
    }
  }
  return out;
}

/** A ResourceList as JSON with canonical quantities. */
export function formatResourceList(list: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of list) out[k] = formatQuantity(v);
  return out;
}

/** The quota admission's prettyPrint: `key=value` sorted by key, joined by commas. */
export function prettyPrintResourceList(list: ResourceList): string {
  return [...list.keys()]
    .sort()
    .map((k) => `${k}=${formatQuantity(list.get(k)!)}`)
    .join(',');
}
