import { assertKeySegment } from '../../shared/ids.js';
import type { Breaker, CapacityType } from './spot-breaker.js';

/** Where the previous layout kept breakers, one read-modify-write object per location and spec: read (never written) for one release. */
export const BREAKER_PREFIX = 'state/spot-breaker/';

/** The breakers of one location and spec, per capacity type: how state is derived (spot-state.ts), and the previous layout's object. */
export interface BreakerFile {
  location: string;
  spec: string;
  capacity: Partial<Record<CapacityType, Breaker>>;
}

/** `state/spot-breaker/<location>/<spec>.json` (previous layout); both ids validated as key segments. */
export function legacyBreakerKey(location: string, spec: string): string {
  return `${BREAKER_PREFIX}${assertKeySegment(location, 'zone or vSwitch')}/${assertKeySegment(spec, 'instance spec')}.json`;
}

/** `<location>/<spec>`: how breakers are named in maps, metrics and the probe annotation. */
export function breakerId(location: string, spec: string): string {
  return `${location}/${spec}`;
}
