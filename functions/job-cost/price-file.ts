import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { ConfigError, errorMessage } from '../../shared/errors.js';

const positive = (what: string) => z.number({ message: `${what} must be a number` }).positive({ message: `${what} must be > 0` });
const vcpuMemSpec = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)Gi$/;

const specPrice = z.strictObject({
  /** On-demand price of the whole instance per second. */
  onDemandSecond: positive('onDemandSecond'),
  /** Expected spot price per second (spot prices move: the record reports the on-demand price, or the limit, as the bound). */
  spotSecond: positive('spotSecond').optional(),
});

const region = z
  .strictObject({
    onDemand: z.strictObject({ vcpuSecond: positive('vcpuSecond'), gibSecond: positive('gibSecond') }),
    /** Expected spot price = on-demand × (1 − discount), for specs without a spotSecond. */
    spot: z.strictObject({ discount: z.number().gt(0, { message: 'discount must be > 0' }).lt(1, { message: 'discount must be < 1' }) }).optional(),
    specs: z.record(z.string().min(1), specPrice).default(() => ({})),
    /** ECI rounds a request up to a supported vCPU-memory spec (`2-4Gi`); listed here when the billed spec is unknown. */
    rounding: z
      .strictObject({
        specs: z.array(z.string().regex(vcpuMemSpec, { message: 'a rounding spec looks like 2-4Gi (vCPUs-GiB)' })).min(1),
      })
      .optional(),
  });

const priceFileSchema = z.strictObject({
  /** Goes into every record as `pricingVersion`, so a record says which prices made it. */
  version: z.string().min(1),
  currency: z.string().regex(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as CNY or USD' }),
  defaultRegion: z.string().min(1),
  regions: z.record(z.string().min(1), region).refine((r) => Object.keys(r).length > 0, { message: 'at least one region is needed' }),
}).refine((file) => file.defaultRegion in file.regions, { message: 'defaultRegion must name one of the regions', path: ['defaultRegion'] });

export type PriceFile = z.infer<typeof priceFileSchema>;
export type RegionPrices = PriceFile['regions'][string];

/** A `2-4Gi` spec as vCPUs and GiB, or undefined for an instance type (`ecs.c6.large`). */
export function parseVcpuMemSpec(spec: string): { vcpu: number; gib: number } | undefined {
  const match = vcpuMemSpec.exec(spec.trim());
  return match ? { vcpu: Number(match[1]), gib: Number(match[2]) } : undefined;
}

function entryName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'the file';
  if (path[0] === 'regions' && path.length >= 2) {
    const [, name, section, key, ...rest] = path.map(String);
    const where = [`region ${name}`];
    if (section === 'specs' && key) {
      where.push(`spec ${key}`);
      if (rest.length) where.push(rest.join('.'));
    } else if (section) where.push([section, key, ...rest].filter(Boolean).join('.'));
    return where.join(', ');
  }
  return path.map(String).join('.');
}

/**
 * Validates a parsed price file whole; every problem is reported at once, each naming its entry
 * (`price file prices.yaml: region cn-hangzhou, spec ecs.c6.large, onDemandSecond must be > 0`).
 */
export function validatePriceFile(value: unknown, name = 'price file'): PriceFile {
  const parsed = priceFileSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${entryName(issue.path)}: ${issue.message}`);
  throw new ConfigError(`The ${name} is invalid: ${problems.join('; ')}.`, [{ variable: 'SPARKFN_COST_PRICE_FILE', message: problems.join('; ') }]);
}

/** Reads a YAML or JSON price file (YAML is a superset of JSON) and validates it. */
export async function loadPriceFile(path: string): Promise<PriceFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`The price file ${path} cannot be read: ${errorMessage(err)}`, [{ variable: 'SPARKFN_COST_PRICE_FILE', message: 'point it at a readable YAML or JSON file' }]);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`The price file ${path} is not YAML or JSON: ${errorMessage(err)}`, [{ variable: 'SPARKFN_COST_PRICE_FILE', message: 'fix its syntax' }]);
  }
  return validatePriceFile(value, `price file ${path}`);
}
