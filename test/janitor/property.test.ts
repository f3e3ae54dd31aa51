import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../functions/janitor/handler.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { appObjects, HOUR, janitorDeps, NOW, refOf, TEST_SETTINGS, unrelatedObjects, type AppSpec } from './cluster.js';

/** One random app; whether it must go is decided below from these fields alone. */
const appArb = fc.record({
  state: fc.constantFrom('running', 'pending', 'succeeded', 'failed', 'orphan', 'operator-running'),
  hoursAgo: fc.integer({ min: 0, max: 100 }),
  ttl: fc.constantFrom(undefined, '30m', '6h', '2d', 'forever'),
  keep: fc.boolean(),
  sparkApp: fc.boolean(),
  executors: fc.integer({ min: 0, max: 3 }),
  configmaps: fc.integer({ min: 0, max: 2 }),
  services: fc.integer({ min: 0, max: 1 }),
  ingresses: fc.integer({ min: 0, max: 1 }),
});
type RandomApp = typeof appArb extends fc.Arbitrary<infer T> ? T : never;

const TTL_HOURS: Record<string, number> = { '30m': 0.5, '6h': 6, '2d': 48 };

/** The oracle: must a correct janitor (default TTL 1 h, grace 1 h) delete this app's objects now? */
function mustGo(app: RandomApp): boolean {
  if (app.state === 'orphan') return app.hoursAgo >= 1;
  if (app.state !== 'succeeded' && app.state !== 'failed') return false;
  if (app.keep || app.ttl === 'forever') return false;
  return app.hoursAgo >= (app.ttl ? TTL_HOURS[app.ttl]! : 1);
}

/** Whether nothing of it may go. */
function mustStay(app: RandomApp): boolean {
  return app.state === 'running' || app.state === 'pending' || app.state === 'operator-running' || (app.state !== 'orphan' && app.keep);
}

function specOf(app: RandomApp, namespace: string, index: number): AppSpec {
  const base: AppSpec = {
    namespace,
    appId: `spark-prop-${index}`,
    executors: app.executors,
    configmaps: app.configmaps,
    services: app.services,
    ingresses: app.ingresses,
    annotations: { ...(app.ttl ? { 'sparkfn.io/ttl': app.ttl } : {}), ...(app.keep ? { 'sparkfn.io/keep': 'true' } : {}) },
    createdAt: NOW - app.hoursAgo * HOUR - 1000,
  };
  const finishedAt = NOW - app.hoursAgo * HOUR;
  switch (app.state) {
    case 'orphan':
      return { namespace, appId: base.appId, executors: Math.max(1, app.executors), configmaps: app.configmaps, createdAt: NOW - app.hoursAgo * HOUR };
    case 'running':
      return { ...base, driverPhase: 'Running', ...(app.sparkApp ? { sparkAppState: 'RUNNING' } : {}) };
    case 'pending':
      return { ...base, driverPhase: 'Pending' };
    case 'operator-running':
      return { ...base, driverPhase: 'Failed', finishedAt, sparkAppState: 'RUNNING' };
    default:
      return { ...base, driverPhase: app.state === 'succeeded' ? 'Succeeded' : 'Failed', finishedAt, ...(app.sparkApp ? { sparkAppState: app.state === 'succeeded' ? 'COMPLETED' : 'FAILED' } : {}) };
  }
}

let server: TestApiserver;
beforeAll(async () => {
  server = await startTestApiserver();
});
afterAll(async () => {
  await server.stop();
});

describe('janitor over random cluster states', () => {
  it('never deletes a running app’s, an unlabelled or an opted-out object, and leaves nothing of an expired app', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(appArb, { minLength: 1, maxLength: 12 }), fc.boolean(), async (apps, servicesWithoutCollection) => {
        const namespace = `prop-${round++}`;
        server.setDeleteCollectionAllowed('services', !servicesWithoutCollection);
        const byApp = apps.map((app, i) => ({ app, refs: appObjects(specOf(app, namespace, i)).map((o) => refOf(server.put(o))) }));
        const unrelated = unrelatedObjects(namespace, 2).map((o) => refOf(server.put(o)));
        const made = await janitorDeps(server);
        try {
          await run({ kind: 'schedule', source: 'local', time: NOW }, made.deps, { ...TEST_SETTINGS, namespaces: [namespace] });
        } finally {
          await made.cleanup();
        }
        const left = new Set(
          ['pods', 'configmaps', 'services', 'ingresses', 'sparkapplications.sparkoperator.k8s.io'].flatMap((r) => server.list(r, namespace).map(refOf)),
        );
        for (const r of unrelated) expect(left.has(r), `${r} has no Spark label`).toBe(true);
        for (const { app, refs } of byApp) {
          if (mustStay(app)) for (const r of refs) expect(left.has(r), `${r} (${app.state}, keep ${app.keep})`).toBe(true);
          // SparkApplications stay: their own TTL is forever by default.
          if (mustGo(app)) for (const r of refs) expect(left.has(r), `${r} (${app.state}, ${app.hoursAgo} h, ttl ${app.ttl})`).toBe(r.startsWith('SparkApplication '));
          if (!mustGo(app)) for (const r of refs) expect(left.has(r), `${r} is not due`).toBe(true);
        }
      }),
      { numRuns: 40, seed: 20260110 },
    );
  });
});
