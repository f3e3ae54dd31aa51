import { type PriceFile, parseVcpuMemSpec, type RegionPrices } from './price-file.js';
import type { PodResources } from './spark-resources.js';

/** How one pod was billed, as far as we know. */
export interface PodUsage {
  seconds: number;
  /** What the pod asked for (rounded by the price file when `billedSpec` is unknown). */
  requested: PodResources;
  /** ECI's `k8s.aliyun.com/eci-instance-spec`: `2.0-4.0Gi` or an instance type. */
  billedSpec?: string;
  spot: boolean;
  /** SpotWithPriceLimit's hourly limit (`k8s.aliyun.com/eci-spot-price-limit`). */
  spotPriceLimitPerHour?: number;
  /** SpotDegraded: ECI fell back to on-demand, billed on-demand. */
  degraded: boolean;
}

/** The price of one pod's lifetime. */
export interface PodPrice {
  /** The spec priced: billed, or the request rounded up. */
  spec: string;
  billedVcpu?: number;
  billedGib?: number;
  onDemand: number;
  /** Spot share: an upper bound (on-demand price, or the price limit when lower). */
  spotUpper: number;
  /** Spot share: the expected price (discount or per-spec spot price). */
  spotExpected: number;
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
const specName = (vcpu: number, gib: number) => `${vcpu}-${round6(gib)}Gi`;

function roundUp(region: RegionPrices, requested: PodResources): { vcpu: number; gib: number } | string {
  if (!region.rounding) return requested;
  const perSecond = (s: { vcpu: number; gib: number }) => s.vcpu * region.onDemand.vcpuSecond + s.gib * region.onDemand.gibSecond;
  const fits = region.rounding.specs
    .map((s) => parseVcpuMemSpec(s)!)
    .filter((s) => s.vcpu >= requested.vcpu - 1e-9 && s.gib >= requested.gib - 1e-9)
    .sort((a, b) => perSecond(a) - perSecond(b) || a.vcpu - b.vcpu);
  return fits[0] ?? `the request of ${round6(requested.vcpu)} vCPU / ${round6(requested.gib)} GiB is larger than every rounding spec`;
}

/**
 * Prices one pod. Throws nothing: a spec without a price comes back as a sentence, which the
 * record carries (the pod's money is then left out of the totals).
 * @example pricePod(prices, 'cn-hangzhou', { seconds: 60, requested: { vcpu: 2, gib: 4 }, spot: false, degraded: false })
 */
export function pricePod(prices: PriceFile, regionName: string, usage: PodUsage): PodPrice | string {
  const region = prices.regions[regionName];
  if (!region) return `the price file (version ${prices.version}) has no region ${regionName}`;
  let spec: string;
  let onDemandRate: number;
  let specSpotRate: number | undefined;
  let billed: { vcpu: number; gib: number } | undefined;
  if (usage.billedSpec) {
    spec = usage.billedSpec;
    const listed = region.specs[spec];
    billed = parseVcpuMemSpec(spec);
    if (listed) {
      onDemandRate = listed.onDemandSecond;
      specSpotRate = listed.spotSecond;
    } else if (billed) {
      onDemandRate = billed.vcpu * region.onDemand.vcpuSecond + billed.gib * region.onDemand.gibSecond;
    } else {
      return `no price for instance spec ${spec} in region ${regionName} (price file version ${prices.version})`;
    }
  } else {
    const rounded = roundUp(region, usage.requested);
    if (typeof rounded === 'string') return rounded;
    billed = rounded;
    spec = specName(rounded.vcpu, rounded.gib);
    onDemandRate = rounded.vcpu * region.onDemand.vcpuSecond + rounded.gib * region.onDemand.gibSecond;
  }
  const seconds = Math.max(0, usage.seconds);
  const base = { spec, ...(billed ? { billedVcpu: billed.vcpu, billedGib: round6(billed.gib) } : {}) };
  if (!usage.spot || usage.degraded) return { ...base, onDemand: onDemandRate * seconds, spotUpper: 0, spotExpected: 0 };
  const limitRate = usage.spotPriceLimitPerHour !== undefined && usage.spotPriceLimitPerHour > 0 ? usage.spotPriceLimitPerHour / 3600 : Infinity;
  const upperRate = Math.min(onDemandRate, limitRate);
  const expectedRate = Math.min(upperRate, specSpotRate ?? (region.spot ? onDemandRate * (1 - region.spot.discount) : upperRate));
  return { ...base, onDemand: 0, spotUpper: upperRate * seconds, spotExpected: expectedRate * seconds };
}
