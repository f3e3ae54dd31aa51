/** Binary suffixes Kubernetes writes memory in, largest first. */
const BINARY_UNITS: readonly (readonly [string, number])[] = [
  ['Ei', 2 ** 60],
  ['Pi', 2 ** 50],
  ['Ti', 2 ** 40],
  ['Gi', 2 ** 30],
  ['Mi', 2 ** 20],
  ['Ki', 2 ** 10],
];
/** A Kubernetes quantity as the API prints it: digits, an optional fraction, an optional suffix. */
const QUANTITY_TEXT = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const DECIMAL_FACTORS: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** `value` with at most one decimal, without a trailing `.0`. */
function oneDecimal(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/**
 * Bytes as people write memory in Kubernetes: the largest binary unit the amount reaches, with
 * one decimal where it is not whole (`4723834880` → `4.4Gi`, `1073741824` → `1Gi`, `512` → `512`).
 * @example formatBytes(4723834880) // '4.4Gi'
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  const size = Math.abs(bytes);
  for (const [suffix, factor] of BINARY_UNITS) {
    // Rounded first, so 1023.96Ki prints as 1Mi rather than 1024Ki.
    if (Math.round((size / factor) * 10) / 10 >= 1) return `${sign}${oneDecimal(size / factor)}${suffix}`;
  }
  return `${sign}${oneDecimal(size)}`;
}

/**
 * CPU as people write it in Kubernetes: whole cores as a number, anything finer in millicores
 * (`2` → `2`, `1.5` → `1500m`, `0.25` → `250m`).
 * @example formatCpu(1.5) // '1500m'
 */
export function formatCpu(cores: number): string {
  if (!Number.isFinite(cores)) return String(cores);
  if (Number.isInteger(cores)) return String(cores);
  return `${Math.round(cores * 1000)}m`;
}

/**
 * A resource amount (a number, or a quantity as the API prints it: `4723834880`, `4Gi`, `1500m`)
 * in the form people write: memory-like resources (`requests.memory`, `limits.ephemeral-storage`,
 * anything named for bytes) in binary units, CPU in cores or millicores, counts as they are.
 * Text that is not a quantity is returned unchanged.
 * @example formatQuantity('requests.memory', '4723834880') // '4.4Gi'
 */
export function formatQuantity(resource: string, value: string | number): string {
  const match = QUANTITY_TEXT.exec(String(value).trim());
  if (!match) return String(value);
  const [, digits, suffix = ''] = match;
  const amount = Number(digits) * (suffix in DECIMAL_FACTORS ? DECIMAL_FACTORS[suffix]! : BINARY_UNITS.find(([s]) => s === suffix)![1]);
  if (/memory|storage|bytes/i.test(resource)) return formatBytes(amount);
  if (/cpu/i.test(resource)) return formatCpu(amount);
  return String(value);
}
