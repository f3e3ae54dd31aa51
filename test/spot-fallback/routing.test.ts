import fastJsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { buildPatch } from '../../functions/spot-fallback/json-patch.js';
import { placementOf } from '../../functions/spot-fallback/placement.js';
import { routePod } from '../../functions/spot-fallback/routing.js';
import { review, testSettings } from './harness.js';

const settings = testSettings();

describe('spot-fallback routing', () => {
  it('sends an app past its reclaim limit on-demand even with every zone closed', () => {
    const pod = review().request.object;
    const routing = routePod(placementOf(pod, settings), new Map(), settings.appReclaimLimit, 0, settings);
    expect(routing).toMatchObject({ action: 'on-demand', why: 'app had 3 spot reclaims (limit 3)' });
  });

  it('adds the annotations map when the pod has none, and the patch applies', () => {
    const pod = { metadata: { name: 'exec-1', labels: { 'spark-role': 'executor' } } };
    const patch = buildPatch(pod, { action: 'spot', why: 'all-closed' }, settings);
    const out = fastJsonPatch.applyPatch(structuredClone(pod), patch as fastJsonPatch.Operation[], true, false).newDocument as unknown as { metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } };
    expect(out.metadata.annotations).toEqual({ 'k8s.aliyun.com/eci-spot-fallback': 'true' });
    expect(out.metadata.labels!['sparkfn.io/capacity']).toBe('spot');
  });

  it('leaves on-demand executors alone', () => {
    const pod = review().request.object;
    delete pod.metadata.annotations['k8s.aliyun.com/eci-spot-strategy'];
    expect(routePod(placementOf(pod, settings), new Map(), 0, 0, settings)).toEqual({ action: 'none', why: 'not-spot' });
  });
});
