import type { AppVerdict } from './app-state.js';
import type { AppObjects, KubeItem } from './inventory.js';
import { CLEAN_KINDS, type CleanKind } from './kinds.js';
import type { JanitorSettings } from './settings.js';
import { expiresAt } from './ttl.js';

/** One kind of one app to delete now, with the objects the inventory saw (the dry-run's answer). */
export interface KindStep {
  kind: CleanKind;
  objects: KubeItem[];
}

/** What is due for one app now. */
export interface AppPlan {
  app: AppObjects;
  verdict: AppVerdict;
  /** When the first of its steps became due (oldest first when a run is limited). */
  dueAt: number;
  /** Kinds to delete, in CLEAN_KINDS order, each only when the app has objects of it. */
  steps: KindStep[];
  /** SparkApplications to delete (past SPARKFN_JANITOR_SPARKAPP_TTL, driver due too). */
  sparkApps: KubeItem[];
}

export function objectsOf(app: AppObjects, kind: CleanKind): KubeItem[] {
  switch (kind) {
    case 'executor-pods':
      return app.executors;
    case 'driver-pod':
      return app.drivers;
    default:
      return app[kind];
  }
}

/**
 * What is due for `app` at `now`, or undefined when nothing is: a finished app's objects once its
 * TTL passed (the driver after the extra time, SparkApplications after their own TTL and never
 * before the driver), an orphan's once its newest object is older than the grace period. Running,
 * opted-out and invalid apps have nothing due.
 */
export function planApp(app: AppObjects, verdict: AppVerdict, settings: JanitorSettings, now: number, sparkAppsKnown: boolean): AppPlan | undefined {
  let restDue: number;
  let driverDue: number;
  let sparkAppDue = Number.POSITIVE_INFINITY;
  if (verdict.state === 'finished') {
    restDue = expiresAt(verdict.finishedAt, verdict.ttl);
    driverDue = expiresAt(verdict.finishedAt, verdict.ttl, settings.driverExtraMs);
    if (settings.sparkAppTtl !== 'forever' && verdict.ttl !== 'forever') {
      sparkAppDue = Math.max(driverDue, expiresAt(verdict.finishedAt, settings.sparkAppTtl));
    }
  } else if (verdict.state === 'orphaned') {
    // Without the SparkApplications, an app whose driver is not yet created looks like an orphan.
    if (!sparkAppsKnown) return undefined;
    restDue = driverDue = verdict.newestCreatedAt + settings.orphanGraceMs;
  } else {
    return undefined;
  }
  const steps: KindStep[] = [];
  for (const kind of CLEAN_KINDS) {
    const objects = objectsOf(app, kind);
    const due = kind === 'driver-pod' ? driverDue : restDue;
    if (objects.length > 0 && now >= due) steps.push({ kind, objects });
  }
  const sparkApps = now >= sparkAppDue ? app.sparkApps : [];
  if (steps.length === 0 && sparkApps.length === 0) return undefined;
  return { app, verdict, dueAt: Math.min(restDue, driverDue), steps, sparkApps };
}
