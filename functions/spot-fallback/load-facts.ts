import type { Logger } from 'pino';
import { errorMessage, NotFoundError } from '../../shared/errors.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import type { ObjectStore, ObjectSummary } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import type { AppSpotState } from './app-state.js';
import { BREAKER_PREFIX, type BreakerFile, breakerId } from './breaker-store.js';
import { APPS_PREFIX, parseRecycleName, PROBE_CLAIMS_PREFIX, PROBE_RUNS_PREFIX, SIGNALS_PREFIX, type ProbeClaimFact, type ProbeRunFact, type SignalFact } from './facts.js';
import { deriveState, emptyFactSet, type FactSet, type SpotState } from './spot-state.js';

/** What both layouts' prefixes (state/spot-fallback/, state/spot-breaker/) start with: one listing reads both. */
const SPOT_STATE_PREFIX = 'state/spot-';
/** Fact bodies read at once. */
const GET_CONCURRENCY = 16;

/**
 * Bodies already read, by key: a fact's object is written once (a redelivery writes the same
 * bytes), so a key seen with the same size and time need not be read again. Holds only the keys
 * of the latest listing.
 */
export type BodyCache = Map<string, { version: string; value: unknown }>;

type Kind = 'signal' | 'probe-run' | 'claim' | 'legacy-breaker' | 'legacy-app';

/** How a listed key is used: read for its body, or taken from its name alone. */
function classify(key: string): Kind | 'name-only' | undefined {
  if (key.startsWith(SIGNALS_PREFIX) && key.endsWith('.json')) return 'signal';
  if (key.startsWith(PROBE_RUNS_PREFIX) && key.endsWith('.json')) return 'probe-run';
  if (key.startsWith(PROBE_CLAIMS_PREFIX)) return key.endsWith('.released.json') ? 'name-only' : key.endsWith('.json') ? 'claim' : undefined;
  if (key.startsWith(BREAKER_PREFIX) && key.endsWith('.json')) return 'legacy-breaker';
  if (key.startsWith(APPS_PREFIX)) {
    const parts = key.slice(APPS_PREFIX.length).split('/');
    if (parts.length === 2 && parts[1]!.endsWith('.json')) return 'legacy-app';
    return 'name-only';
  }
  return undefined;
}

function addNamed(facts: FactSet, key: string): void {
  if (key.startsWith(PROBE_CLAIMS_PREFIX)) {
    facts.released.add(key.replace(/\.released\.json$/, '.json'));
    return;
  }
  const [namespace, appId, what, a, b, ...rest] = key.slice(APPS_PREFIX.length).split('/');
  if (!namespace || !appId || rest.length > 0) return;
  if (what === 'reclaims' && a && b) facts.reclaims.set(key, { namespace, appId, zone: a, pod: b });
  if (what === 'recycles' && a && !b) {
    const parsed = parseRecycleName(a);
    if (parsed) facts.recycles.set(key, { namespace, appId, ...parsed });
  }
}

function addBody(facts: FactSet, kind: Kind, key: string, value: unknown): boolean {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null) return false;
  switch (kind) {
    case 'signal':
      if (typeof v.at !== 'number' || typeof v.pod !== 'string' || !Array.isArray(v.breakers) || (v.capacity !== 'spot' && v.capacity !== 'on-demand')) return false;
      facts.signals.set(key, v as unknown as SignalFact);
      return true;
    case 'probe-run':
      if (typeof v.at !== 'number' || typeof v.pod !== 'string' || !Array.isArray(v.breakers)) return false;
      facts.probeRuns.set(key, v as unknown as ProbeRunFact);
      return true;
    case 'claim': {
      const [location, spec, period, slot] = key.slice(PROBE_CLAIMS_PREFIX.length).split('/');
      const slotNumber = Number((slot ?? '').replace(/\.json$/, ''));
      if (!location || !spec || !/^\d+$/.test(period ?? '') || !Number.isSafeInteger(slotNumber) || typeof v.name !== 'string' || typeof v.at !== 'number') return false;
      facts.claims.set(key, { location, spec, period: Number(period), slot: slotNumber, fact: v as unknown as ProbeClaimFact });
      return true;
    }
    case 'legacy-breaker': {
      const file = v as unknown as BreakerFile;
      if (typeof file.location !== 'string' || typeof file.spec !== 'string' || typeof file.capacity !== 'object' || file.capacity === null) return false;
      facts.legacyBreakers.set(breakerId(file.location, file.spec), { key, file });
      return true;
    }
    case 'legacy-app': {
      const [namespace, name] = key.slice(APPS_PREFIX.length).split('/') as [string, string];
      const state = v as Partial<AppSpotState>;
      facts.legacyApps.set(`${namespace}/${name.replace(/\.json$/, '')}`, {
        key,
        state: { reclaims: state.reclaims ?? {}, reclaimedPods: state.reclaimedPods ?? [], recycles: state.recycles ?? [] },
      });
      return true;
    }
  }
}

/**
 * Reads every spot-fallback fact: one listing of state/spot- (this layout's state/spot-fallback/ and
 * the previous one's state/spot-breaker/), then the bodies not in `bodies` yet (or in `known`: facts this
 * process wrote itself). An object that does not parse is logged and left out.
 */
export async function loadFacts(store: ObjectStore, logger: Logger, bodies: BodyCache, known: ReadonlyMap<string, unknown> = new Map()): Promise<FactSet> {
  const facts = emptyFactSet();
  const listed: { object: ObjectSummary; kind: Kind }[] = [];
  for await (const object of listAll(store, SPOT_STATE_PREFIX)) {
    const kind = classify(object.key);
    if (!kind) continue;
    facts.written.set(object.key, object.lastModified.getTime());
    if (kind === 'name-only') addNamed(facts, object.key);
    else listed.push({ object, kind });
  }
  const seen = new Set(listed.map((l) => l.object.key));
  for (const key of bodies.keys()) if (!seen.has(key)) bodies.delete(key);
  await mapConcurrently(listed, GET_CONCURRENCY, async ({ object, kind }) => {
    const version = `${object.size}:${object.lastModified.getTime()}`;
    let value: unknown = bodies.get(object.key)?.version === version ? bodies.get(object.key)!.value : known.get(object.key);
    if (value === undefined) {
      try {
        value = JSON.parse((await getBuffer(store, object.key)).toString('utf8'));
      } catch (err) {
        // Pruned since the listing.
        if (err instanceof NotFoundError) return;
        if (!(err instanceof SyntaxError)) throw err;
        logger.warn({ key: object.key, err: errorMessage(err) }, 'spot-fallback state object is not JSON; ignoring it');
        return;
      }
    }
    if (addBody(facts, kind, object.key, value)) bodies.set(object.key, { version, value });
    else logger.warn({ key: object.key }, 'spot-fallback state object is not a fact of its kind; ignoring it');
  });
  return facts;
}

/** Adds a fact this process just wrote to `facts` (so it counts before the next listing). */
export function addFact(facts: FactSet, key: string, value: unknown): void {
  const kind = classify(key);
  if (kind === 'name-only') addNamed(facts, key);
  else if (kind) addBody(facts, kind, key, value);
}

/**
 * The state every fact in the store adds up to now, read afresh (for the demo, tools and tests;
 * the functions read through their SpotStateCache).
 * @example const state = await readSpotState(store, logger, settings); state.breakers.get('cn-hangzhou-h/ecs.c6.xlarge')
 */
export async function readSpotState(store: ObjectStore, logger: Logger, settings: Parameters<typeof deriveState>[1]): Promise<SpotState> {
  return deriveState(await loadFacts(store, logger, new Map()), settings);
}
