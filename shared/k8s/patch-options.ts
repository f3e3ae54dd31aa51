import { PatchStrategy, setHeaderOptions, type ConfigurationOptions } from '@kubernetes/client-node';

/** The patch formats the apiserver accepts for the typed patch calls. */
export type PatchFormat = 'merge' | 'strategic' | 'json';

const CONTENT_TYPES: Record<PatchFormat, string> = {
  merge: PatchStrategy.MergePatch,
  strategic: PatchStrategy.StrategicMergePatch,
  json: PatchStrategy.JsonPatch,
};

/**
 * Call options that make a client-node 1.x patch call send `format`. Without them every
 * `patch*` call goes out as `application/json-patch+json` (the first media type the generated
 * code lists), so an object body meant as a merge patch is rejected with 400.
 * @example
 * await core.patchNamespacedPod({ name, namespace, body: { metadata: { labels } } }, patchOptions('merge'));
 */
export function patchOptions(format: PatchFormat): ConfigurationOptions {
  // A fresh object per call: client-node reverses the middleware array of the options in place.
  return setHeaderOptions('Content-Type', CONTENT_TYPES[format]);
}
