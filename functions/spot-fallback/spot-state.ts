import type { AppSpotState } from './app-state.js';
import type { BreakerFile } from './breaker-store.js';
import { breakerId } from './breaker-store.js';
import { type ProbeClaimFact, type ProbeRunFact, type SignalFact } from './facts.js';
import { type Breaker, breakerState, type CapacityType, CLOSED, probeSucceeded, recordSignal } from './spot-breaker.js';
import type { SpotSettings } from './settings.js';

/** Every fact spot-fallback keeps, as read from the store (facts.ts names the keys). */
export interface FactSet {
  signals: Map<string, SignalFact>;
  probeRuns: Map<string, ProbeRunFact>;
  /** Claim key → claim, with the breaker, period and slot its key names. */
  claims: Map<string, { location: string; spec: string; period: number; slot: number; fact: ProbeClaimFact }>;
  /** Claim keys whose release fact exists. */
  released: Set<string>;
  /** Reclaim key → what it names. */
  reclaims: Map<string, { namespace: string; appId: string; zone: string; pod: string }>;
  /** Recycle key → what it names. */
  recycles: Map<string, { namespace: string; appId: string; pod: string; at: number }>;
  /** state/spot-breaker/<location>/<spec>.json of the previous layout (read, never written). */
  legacyBreakers: Map<string, { key: string; file: BreakerFile }>;
  /** state/spot-fallback/apps/<namespace>/<appId>.json of the previous layout (read, never written). */
  legacyApps: Map<string, { key: string; state: AppSpotState }>;
  /** When each key was last written, as the store says (for pruning app facts). */
  written: Map<string, number>;
}

export function emptyFactSet(): FactSet {
  return { signals: new Map(), probeRuns: new Map(), claims: new Map(), released: new Set(), reclaims: new Map(), recycles: new Map(), legacyBreakers: new Map(), legacyApps: new Map(), written: new Map() };
}

/** A half-open breaker's probe slots in its current open period. */
export interface ProbeSlots {
  /** The open period the slots belong to: the open's `openUntil`. */
  period: number;
  /** The slot the next claim goes to. */
  nextSlot: number;
  /** The newest claim, unless released. */
  holder?: { key: string; slot: number; fact: ProbeClaimFact };
}

/** What the facts add up to. Pure: the same facts give the same state, whatever order they came in. */
export interface SpotState {
  /** `<location>/<spec>` → its breakers, per capacity type (the shape admission routes on). */
  breakers: Map<string, BreakerFile>;
  /** `<location>/<spec>/<capacity>` → how many times the breaker opened. */
  opens: Map<string, number>;
  /** `<location>/<spec>` → the spot breaker's probe slots, for breakers that have opened. */
  probes: Map<string, ProbeSlots>;
  /** `<namespace>/<appId>` → reclaims per zone and recent recycles. */
  apps: Map<string, AppSpotState>;
}

type Timing = Pick<SpotSettings, 'openThreshold' | 'signalWindowMs' | 'openTtlMs' | 'maxOpenTtlMs' | 'probeTimeoutMs'>;

interface BreakerEvent {
  at: number;
  /** Signals before probe runs at the same millisecond: a total order, so the fold is deterministic. */
  order: number;
  pod: string;
  reason: string;
}

/** `<location>/<spec>` back into its parts (a location never holds a slash). */
export function splitBreakerId(id: string): { location: string; spec: string } {
  const slash = id.indexOf('/');
  return { location: id.slice(0, slash), spec: id.slice(slash + 1) };
}

function eventsByBreaker(facts: FactSet): Map<string, BreakerEvent[]> {
  const events = new Map<string, BreakerEvent[]>();
  const add = (id: string, event: BreakerEvent) => {
    const list = events.get(id) ?? [];
    list.push(event);
    events.set(id, list);
  };
  for (const s of facts.signals.values()) for (const id of s.breakers) add(`${id}/${s.capacity}`, { at: s.at, order: 0, pod: s.pod, reason: s.reason });
  for (const r of facts.probeRuns.values()) for (const id of r.breakers) add(`${id}/spot`, { at: r.at, order: 1, pod: r.pod, reason: 'probe-ran' });
  for (const list of events.values()) {
    list.sort((a, b) => a.at - b.at || a.order - b.order || (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0) || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
  }
  return events;
}

/**
 * Folds every breaker's facts in event time, from the previous layout's breaker when there is
 * one: a signal is recorded as spot-breaker.ts says at the moment it happened; a probe run closes
 * a breaker that was half-open then. Delivery order and duplicates do not change the result.
 */
export function deriveState(facts: FactSet, settings: Timing): SpotState {
  const breakers = new Map<string, BreakerFile>();
  const opens = new Map<string, number>();
  const file = (id: string): BreakerFile => {
    let f = breakers.get(id);
    if (!f) {
      const { location, spec } = splitBreakerId(id);
      f = { location, spec, capacity: {} };
      breakers.set(id, f);
    }
    return f;
  };
  for (const [id, legacy] of facts.legacyBreakers) file(id).capacity = structuredClone(legacy.file.capacity);
  for (const [idCapacity, events] of eventsByBreaker(facts)) {
    const cut = idCapacity.lastIndexOf('/');
    const id = idCapacity.slice(0, cut);
    const capacity = idCapacity.slice(cut + 1) as CapacityType;
    let breaker: Breaker = file(id).capacity[capacity] ?? CLOSED;
    let opened = 0;
    for (const event of events) {
      if (event.order === 1) {
        if (breakerState(breaker, event.at) === 'half-open') breaker = probeSucceeded();
        continue;
      }
      const before = breakerState(breaker, event.at);
      breaker = recordSignal(breaker, { at: event.at, pod: event.pod, reason: event.reason }, event.at, settings);
      if (before !== 'open' && breakerState(breaker, event.at) === 'open') opened++;
    }
    file(id).capacity[capacity] = breaker;
    opens.set(idCapacity, opened);
  }
  const probes = probeSlots(facts, breakers);
  for (const [id, slots] of probes) {
    const spot = breakers.get(id)?.capacity.spot;
    if (!spot) continue;
    const { probe: _legacyProbe, ...rest } = spot;
    const holder = slots.holder ? { pod: `${slots.holder.fact.namespace}/${slots.holder.fact.name}`, at: slots.holder.fact.at } : undefined;
    // No claim in this layout yet: a probe the previous layout recorded still counts.
    const probe = holder ?? (slots.nextSlot === 0 ? spot.probe : undefined);
    file(id).capacity.spot = probe ? { ...rest, probe } : rest;
  }
  return { breakers, opens, probes, apps: deriveApps(facts) };
}

function probeSlots(facts: FactSet, breakers: ReadonlyMap<string, BreakerFile>): Map<string, ProbeSlots> {
  const out = new Map<string, ProbeSlots>();
  for (const [id, f] of breakers) {
    const period = f.capacity.spot?.openUntil;
    if (period !== undefined) out.set(id, { period, nextSlot: 0 });
  }
  const claims = [...facts.claims].sort(([, a], [, b]) => a.slot - b.slot);
  for (const [key, claim] of claims) {
    const id = breakerId(claim.location, claim.spec);
    const slots = out.get(id);
    if (!slots || slots.period !== claim.period || claim.slot < slots.nextSlot) continue;
    slots.nextSlot = claim.slot + 1;
    if (facts.released.has(key)) delete slots.holder;
    else slots.holder = { key, slot: claim.slot, fact: claim.fact };
  }
  return out;
}

function deriveApps(facts: FactSet): Map<string, AppSpotState> {
  const apps = new Map<string, AppSpotState>();
  const app = (namespace: string, appId: string): AppSpotState => {
    const id = `${namespace}/${appId}`;
    let a = apps.get(id);
    if (!a) {
      a = { reclaims: {}, reclaimedPods: [], recycles: [] };
      apps.set(id, a);
    }
    return a;
  };
  for (const [id, legacy] of facts.legacyApps) {
    const slash = id.indexOf('/');
    const a = app(id.slice(0, slash), id.slice(slash + 1));
    a.reclaims = { ...legacy.state.reclaims };
    a.reclaimedPods = [...legacy.state.reclaimedPods];
    a.recycles = [...legacy.state.recycles];
  }
  const reclaims = [...facts.reclaims.values()].sort((x, y) => (x.pod < y.pod ? -1 : x.pod > y.pod ? 1 : 0));
  for (const r of reclaims) {
    const a = app(r.namespace, r.appId);
    // Once per pod, even were its zone read differently by two events.
    if (a.reclaimedPods.includes(r.pod)) continue;
    a.reclaimedPods.push(r.pod);
    a.reclaims[r.zone] = (a.reclaims[r.zone] ?? 0) + 1;
  }
  for (const r of facts.recycles.values()) {
    const a = app(r.namespace, r.appId);
    if (!a.recycles.some((x) => x.pod === r.pod)) a.recycles.push({ pod: r.pod, at: r.at });
  }
  for (const a of apps.values()) a.recycles.sort((x, y) => x.at - y.at || (x.pod < y.pod ? -1 : 1));
  return apps;
}

/** Facts about apps are kept this long after they were written: a Spark app that ran for a week is long done. */
export const APP_FACT_TTL_MS = 7 * 24 * 3600_000;
/**
 * Breaker facts are rolled up once they are this old. Every instance has seen them by then (an
 * event that arrives later than this is folded in event time all the same, but may find its older
 * neighbours rolled up), so instances that prune at once from different views agree.
 */
export const PRUNE_AFTER_MS = 60 * 60_000;

function subset(facts: FactSet, before: number): FactSet {
  const old = emptyFactSet();
  for (const [k, v] of facts.signals) if (v.at < before) old.signals.set(k, v);
  for (const [k, v] of facts.probeRuns) if (v.at < before) old.probeRuns.set(k, v);
  for (const [k, v] of facts.legacyBreakers) old.legacyBreakers.set(k, v);
  return old;
}

/**
 * Keys whose facts no longer change what `deriveState` gives, now or for any later fact: the
 * roll-up. Judged on the facts older than PRUNE_AFTER_MS alone, so the answer does not depend on
 * which newer facts an instance has seen; deleting is idempotent, so instances may prune at once.
 * - breaker facts older than the horizon whose breakers, by those facts, ended closed (never
 *   opened, or a probe ran) with every signal out of the window: a later signal folds the same
 *   without them (a breaker's `opens` then counts from the facts kept);
 * - claims of an open period that ended before the horizon and is no longer current;
 * - app facts older than APP_FACT_TTL_MS.
 */
export function prunableKeys(facts: FactSet, state: SpotState, now: number, settings: Timing): string[] {
  const horizon = now - PRUNE_AFTER_MS;
  const old = deriveState(subset(facts, horizon), settings);
  const settled = (id: string, capacity: CapacityType) => {
    const b = old.breakers.get(id)?.capacity[capacity];
    return !b || (b.openUntil === undefined && b.signals.every((s) => horizon - s.at >= settings.signalWindowMs));
  };
  const out: string[] = [];
  const kept: SignalFact[] = [];
  for (const [key, s] of facts.signals) {
    if (s.at >= horizon) continue;
    if (s.breakers.every((id) => settled(id, s.capacity))) out.push(key);
    else kept.push(s);
  }
  const touches = (breakers: readonly string[], capacity: CapacityType | undefined, until: number) =>
    kept.some((s) => (capacity === undefined || s.capacity === capacity) && s.at <= until && s.breakers.some((id) => breakers.includes(id)));
  for (const [key, r] of facts.probeRuns) {
    if (r.at < horizon && r.breakers.every((id) => settled(id, 'spot')) && !touches(r.breakers, 'spot', r.at)) out.push(key);
  }
  for (const [id, legacy] of facts.legacyBreakers) {
    const capacities = Object.keys(legacy.file.capacity) as CapacityType[];
    if (capacities.every((c) => settled(id, c)) && !touches([id], undefined, horizon)) out.push(legacy.key);
  }
  for (const [key, c] of facts.claims) {
    const current = state.probes.get(breakerId(c.location, c.spec))?.period;
    if (c.period !== current && c.period < horizon) {
      out.push(key);
      if (facts.released.has(key)) out.push(key.replace(/\.json$/, '.released.json'));
    }
  }
  for (const key of [...facts.reclaims.keys(), ...facts.recycles.keys(), ...[...facts.legacyApps.values()].map((a) => a.key)]) {
    const written = facts.written.get(key);
    if (written !== undefined && now - written > APP_FACT_TTL_MS) out.push(key);
  }
  return out;
}
