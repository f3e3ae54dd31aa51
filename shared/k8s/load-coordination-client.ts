/** What `loadCoordinationClient` resolves to: the Lease API of ./client-node-coordination.ts. */
export type CoordinationClientModule = typeof import('./client-node-coordination.js');

let loading: Promise<CoordinationClientModule> | undefined;

/**
 * client-node's Lease API, loaded on first use like `loadKubeClient`, from a file of its own so
 * that only what elects a leader (`sparkfn serve`) reaches it: a function bundle gets no chunk for it.
 */
export function loadCoordinationClient(): Promise<CoordinationClientModule> {
  loading ??= import('./client-node-coordination.js');
  return loading;
}
