import type { SpotSettings } from './settings.js';

/** Capacity types a breaker is kept for; admission routes on the spot ones. */
export type CapacityType = 'spot' | 'on-demand';

/** How a breaker stands at a moment. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** One breaker's stored state (state/spot-breaker/<location>/<spec>.json holds one per capacity type). */
export interface Breaker {
  /** Signals still inside the window, one per pod. */
  signals: { at: number; pod: string; reason: string }[];
  /** Present once opened; cleared when a probe succeeds. */
  openedAt?: number;
  openUntil?: number;
  /** Consecutive opens without a successful probe: the TTL is openTtl × 2^(level-1), capped. */
  level: number;
  /** The probe let through while half-open, if any. */
  probe?: { pod: string; at: number };
  lastReason?: string;
}

export const CLOSED: Breaker = Object.freeze({ signals: [], level: 0 }) as Breaker;

type Timing = Pick<SpotSettings, 'openThreshold' | 'signalWindowMs' | 'openTtlMs' | 'maxOpenTtlMs' | 'probeTimeoutMs'>;

/** The open time for the `level`-th consecutive open: exponential backoff to the cap. */
export function openTtl(level: number, settings: Timing): number {
  return Math.min(settings.openTtlMs * 2 ** Math.max(0, level - 1), settings.maxOpenTtlMs);
}

/** closed → (signals ≥ threshold) → open → (TTL over) → half-open → (probe ran) → closed. */
export function breakerState(breaker: Breaker, now: number): BreakerState {
  if (breaker.openUntil === undefined) return 'closed';
  return now < breaker.openUntil ? 'open' : 'half-open';
}

/** Whether a half-open breaker may let one more spot pod through as its probe. */
export function probeAvailable(breaker: Breaker, now: number, settings: Timing): boolean {
  if (breakerState(breaker, now) !== 'half-open') return false;
  return !breaker.probe || now - breaker.probe.at >= settings.probeTimeoutMs;
}

/**
 * A stock-out signal. A pod's second signal inside the window is not counted again (a
 * `SpotToBeReleased` and the `BidFailed` that follows are one reclaim). Closed: opens once the
 * window holds `openThreshold` signals. Open: a new pod's signal extends the open time at the
 * current step. Half-open: the probe failed (or spot failed again): reopen one backoff step longer
 * (3 → 6 → 12 → 24 → 30 min by default), as cluster-autoscaler backs off a node group.
 */
export function recordSignal(breaker: Breaker, signal: { at: number; pod: string; reason: string }, now: number, settings: Timing): Breaker {
  const recent = breaker.signals.filter((s) => now - s.at < settings.signalWindowMs);
  if (recent.some((s) => s.pod === signal.pod)) return { ...breaker, signals: recent };
  const signals = [...recent, { at: signal.at, pod: signal.pod, reason: signal.reason }];
  const state = breakerState(breaker, now);
  if (state === 'closed' && signals.length < settings.openThreshold) return { ...breaker, signals };
  if (state === 'open') {
    // Pods created before the breaker opened keep failing for a while: that is the same stock-out,
    // so it extends the open time at the current step instead of climbing the backoff.
    return { ...breaker, signals, openUntil: Math.max(breaker.openUntil!, now + openTtl(breaker.level, settings)), lastReason: signal.reason };
  }
  const level = breaker.level + 1;
  const { probe: _probe, ...rest } = breaker;
  return { ...rest, signals, level, openedAt: now, openUntil: now + openTtl(level, settings), lastReason: signal.reason };
}

/** Marks `pod` as the half-open breaker's probe. */
export function claimProbe(breaker: Breaker, pod: string, now: number): Breaker {
  return { ...breaker, probe: { pod, at: now } };
}

/** The probe ran on spot: the breaker closes and forgets its backoff. */
export function probeSucceeded(): Breaker {
  return { signals: [], level: 0 };
}
