import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { ClientCertificate } from '../platform/trigger.js';

/**
 * The certificate a TLS client presented, or undefined on a plain connection or one that sent
 * none. `authorized` is Node's verdict against the server's `ca` (the client CA): the server asks
 * for a certificate without refusing the handshake, so that probes and scrapers that have none
 * still reach the public routes.
 */
export function clientCertificateOf(socket: Socket): ClientCertificate | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const peer = socket.getPeerCertificate();
  // An empty object when the client sent no certificate.
  if (!peer || Object.keys(peer).length === 0) return undefined;
  const names = new Set<string>();
  const cn = peer.subject?.CN as string | string[] | undefined;
  for (const name of Array.isArray(cn) ? cn : cn ? [cn] : []) names.add(name);
  for (const entry of (peer.subjectaltname ?? '').split(/,\s*/)) {
    if (entry.startsWith('DNS:')) names.add(entry.slice('DNS:'.length));
  }
  const error = socket.authorizationError as unknown;
  return {
    authorized: socket.authorized,
    ...(error ? { authorizationError: error instanceof Error ? error.message : String(error) } : {}),
    names: [...names],
  };
}

/**
 * Why a request's client certificate does not authenticate it, or undefined when it does: one
 * must be present, chain to the client CA, and (when `names` is not empty) carry one of them as
 * its CN or a DNS subject alternative name.
 */
export function clientCertificateProblem(certificate: ClientCertificate | undefined, names: readonly string[]): string | undefined {
  if (!certificate) return 'no client certificate: the apiserver sends one from its admission kubeconfig (client-certificate-data)';
  if (!certificate.authorized) return `the client certificate is not from the configured client CA (${certificate.authorizationError ?? 'not verified'})`;
  if (names.length > 0 && !certificate.names.some((name) => names.includes(name))) {
    return `the client certificate names ${certificate.names.join(', ') || 'nothing'}, none of SPARKFN_ADMISSION_CLIENT_NAMES`;
  }
  return undefined;
}
