/** What `loadKubeClient` resolves to: the client-node classes and helpers of ./client-node.ts. */
export type KubeClientModule = typeof import('./client-node.js');

let loading: Promise<KubeClientModule> | undefined;

/**
 * @kubernetes/client-node, loaded on first use and shared afterwards. Nothing reachable from a
 * function's entry point imports its values statically: a cold start that needs no cluster never
 * pays for it, and one that does pays once, on the first call (issue 8).
 * @example
 * const { KubeConfig } = await loadKubeClient();
 * const kc = new KubeConfig();
 */
export function loadKubeClient(): Promise<KubeClientModule> {
  loading ??= import('./client-node.js');
  return loading;
}
