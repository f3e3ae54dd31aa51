import { ECI, type PodLike, SPARKFN } from './placement.js';
import type { Routing } from './routing.js';
import type { SpotSettings } from './settings.js';

/** One RFC 6902 operation, as AdmissionReview's `patchType: JSONPatch` takes them. */
export type PatchOp = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/** `sparkfn.io/capacity` → `sparkfn.io~1capacity` (RFC 6901). */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The capacity label job-cost reads: what the pod is billed as. */
export type CapacityLabel = 'spot' | 'on-demand-fallback';

/**
 * The JSONPatch that applies `routing` to `pod`: map keys are added or replaced one by one (the
 * map itself is added when the pod has none), so nothing else on the pod changes.
 */
export function buildPatch(pod: PodLike, routing: Routing, settings: Pick<SpotSettings, 'fallbackAnnotation'>): PatchOp[] {
  if (routing.action === 'none') return [];
  const ops: PatchOp[] = [];
  const annotations = { ...(pod.metadata?.annotations ?? {}) };
  const labels = { ...(pod.metadata?.labels ?? {}) };
  const hadAnnotations = pod.metadata?.annotations !== undefined;
  const hadLabels = pod.metadata?.labels !== undefined;
  const setAnnotations: Record<string, string> = {};
  const removeAnnotations: string[] = [];
  let capacity: CapacityLabel = 'spot';

  switch (routing.action) {
    case 'spot':
      if (settings.fallbackAnnotation) setAnnotations[ECI.spotFallback] = 'true';
      break;
    case 'reorder':
      if (settings.fallbackAnnotation) setAnnotations[ECI.spotFallback] = 'true';
      setAnnotations[ECI.vswitch] = routing.order.map((c) => c.vswitch).filter(Boolean).join(',');
      setAnnotations[ECI.scheduleStrategy] = 'VSwitchOrdered';
      setAnnotations[SPARKFN.reasonAnnotation] = routing.why;
      break;
    case 'probe':
      // No fallback on a probe: it must run on spot or fail, or it proves nothing.
      if (annotations[ECI.spotFallback] !== undefined) removeAnnotations.push(ECI.spotFallback);
      if (routing.order.every((c) => c.vswitch)) {
        setAnnotations[ECI.vswitch] = routing.order.map((c) => c.vswitch).join(',');
        setAnnotations[ECI.scheduleStrategy] = 'VSwitchOrdered';
      }
      setAnnotations[SPARKFN.probeAnnotation] = routing.breakers.join(',');
      setAnnotations[SPARKFN.reasonAnnotation] = routing.why;
      break;
    case 'on-demand':
      capacity = 'on-demand-fallback';
      for (const key of [ECI.spotStrategy, ECI.spotPriceLimit, ECI.spotFallback]) if (annotations[key] !== undefined) removeAnnotations.push(key);
      setAnnotations[SPARKFN.reasonAnnotation] = routing.why;
      break;
  }

  if (!hadAnnotations && Object.keys(setAnnotations).length > 0) {
    ops.push({ op: 'add', path: '/metadata/annotations', value: setAnnotations });
  } else {
    for (const key of removeAnnotations) ops.push({ op: 'remove', path: `/metadata/annotations/${pointerSegment(key)}` });
    for (const [key, value] of Object.entries(setAnnotations)) {
      if (annotations[key] === value) continue;
      ops.push({ op: annotations[key] === undefined ? 'add' : 'replace', path: `/metadata/annotations/${pointerSegment(key)}`, value });
    }
  }
  if (!hadLabels) ops.push({ op: 'add', path: '/metadata/labels', value: { [SPARKFN.capacityLabel]: capacity } });
  else if (labels[SPARKFN.capacityLabel] !== capacity) {
    ops.push({ op: labels[SPARKFN.capacityLabel] === undefined ? 'add' : 'replace', path: `/metadata/labels/${pointerSegment(SPARKFN.capacityLabel)}`, value: capacity });
  }
  return ops;
}
