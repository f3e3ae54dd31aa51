import type { ConfigurationOptions } from '@kubernetes/client-node';
import { loadKubeClient } from './load-client.js';

/** The patch formats the apiserver accepts for the typed patch calls. */
export type PatchFormat = 'merge' | 'strategic' | 'json';

/**
 * Call options that make a client-node 1.x patch call send `format`. Without them every
 * `patch*` call goes out as `application/json-patch+json` (the first media type the generated
 * code lists), so an object body meant as a merge patch is rejected with 400.
 * @example
 * await core.patchNamespacedPod({ name, namespace, body: { metadata: { labels } } }, await patchOptions('merge'));
 */
export async function patchOptions(format: PatchFormat): Promise<ConfigurationOptions> {
  const { PatchStrategy, setHeaderOptions } = await loadKubeClient();
  const contentTypes: Record<PatchFormat, string> = {
    merge: PatchStrategy.MergePatch,
    strategic: PatchStrategy.StrategicMergePatch,
    json: PatchStrategy.JsonPatch,
  };
  // A fresh object per call: client-node reverses the middleware array of the options in place.
  return setHeaderOptions('Content-Type', contentTypes[format]);
}
