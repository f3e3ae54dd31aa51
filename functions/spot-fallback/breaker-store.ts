import type { Logger } from 'pino';
import { NotFoundError, errorMessage } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import type { Breaker, CapacityType } from './spot-breaker.js';

/** Where breakers live: one object per location (zone or vSwitch) and spec. */
export const BREAKER_PREFIX = 'state/spot-breaker/';

/** The stored object: the breakers of one location and spec, per capacity type. */
export interface BreakerFile {
  location: string;
  spec: string;
  capacity: Partial<Record<CapacityType, Breaker>>;
}

/** `state/spot-breaker/<location>/<spec>.json`; both ids validated as key segments. */
export function breakerKey(location: string, spec: string): string {
  return `${BREAKER_PREFIX}${assertKeySegment(location, 'zone or vSwitch')}/${assertKeySegment(spec, 'instance spec')}.json`;
}

/** `<location>/<spec>`: how breakers are named in maps, metrics and the probe annotation. */
export function breakerId(location: string, spec: string): string {
  return `${location}/${spec}`;
}

function isBreakerFile(value: unknown): value is BreakerFile {
  const v = value as BreakerFile;
  return typeof v === 'object' && v !== null && typeof v.location === 'string' && typeof v.spec === 'string' && typeof v.capacity === 'object' && v.capacity !== null;
}

export async function readBreakerFile(store: ObjectStore, location: string, spec: string): Promise<BreakerFile> {
  try {
    const parsed: unknown = JSON.parse((await getBuffer(store, breakerKey(location, spec))).toString('utf8'));
    if (isBreakerFile(parsed)) return parsed;
  } catch (err) {
    if (!(err instanceof NotFoundError) && !(err instanceof SyntaxError)) throw err;
  }
  return { location, spec, capacity: {} };
}

function isIdle(breaker: Breaker | undefined): boolean {
  return !breaker || (breaker.openUntil === undefined && breaker.signals.length === 0);
}

/** Writes the file, or deletes it once every breaker in it is closed with no signals pending. */
export async function writeBreakerFile(store: ObjectStore, file: BreakerFile): Promise<void> {
  const key = breakerKey(file.location, file.spec);
  if (Object.values(file.capacity).every(isIdle)) await store.delete(key);
  else await store.put(key, JSON.stringify(file), { contentType: 'application/json' });
}

/** Every stored breaker file, keyed by breakerId. A file that does not parse is logged and skipped. */
export async function loadAllBreakers(store: ObjectStore, logger: Logger): Promise<Map<string, BreakerFile>> {
  const keys: string[] = [];
  for await (const object of listAll(store, BREAKER_PREFIX)) if (object.key.endsWith('.json')) keys.push(object.key);
  const files = await Promise.all(
    keys.map(async (key) => {
      try {
        const parsed: unknown = JSON.parse((await getBuffer(store, key)).toString('utf8'));
        if (isBreakerFile(parsed)) return parsed;
        logger.warn({ key }, 'spot breaker object is not a breaker file; ignoring it');
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        if (err instanceof SyntaxError) {
          logger.warn({ key, err: errorMessage(err) }, 'spot breaker object is not JSON; ignoring it');
          return undefined;
        }
        throw err;
      }
      return undefined;
    }),
  );
  const out = new Map<string, BreakerFile>();
  for (const file of files) if (file) out.set(breakerId(file.location, file.spec), file);
  return out;
}
