/**
 * The coordination.k8s.io values of @kubernetes/client-node that leader election uses, apart
 * from ./client-node.ts: only `sparkfn serve` elects a leader, so the function bundles (which
 * share client-node.ts's chunk) do not carry the Lease API (loaded by `loadCoordinationClient`).
 */
export { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
