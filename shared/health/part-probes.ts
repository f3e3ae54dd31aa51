import { X509Certificate } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { ObjectStore } from '../store/object-store.js';
import { pemCertificates } from '../http/tls-files.js';
import type { Readiness } from './readiness.js';

/** 10 s: kubelet's default readiness period, so /readyz is never more than one probe behind. */
export const DEFAULT_PROBE_EVERY_MS = 10_000;
/** A store that takes longer than this to answer a HEAD is as good as down for the routes that use it. */
const STORE_PROBE_TIMEOUT_MS = 5_000;
/** A key nothing writes: a HEAD on it answers "absent" from a working store and fails on a broken one. */
export const STORE_PROBE_KEY = 'health/readyz-probe';

export interface PartProbeOptions {
  readiness: Readiness;
  store: ObjectStore;
  /** The serving certificate, when the server speaks TLS. */
  tlsCert?: string | Buffer;
  /** The client CA bundle (SPARKFN_ADMISSION_CLIENT_CA_FILE), checked as part of `tls`. */
  clientCa?: string | Buffer;
  everyMs?: number;
  signal: AbortSignal;
}

/**
 * Probes the parts that report nothing by themselves, now and then every `everyMs` until the
 * signal aborts: the store (a HEAD of a key nothing writes) and the TLS certificate (loaded,
 * and valid now) with the client CA bundle when one is configured (one of its CAs valid now).
 */
export function startPartProbes({ readiness, store, tlsCert, clientCa, everyMs = DEFAULT_PROBE_EVERY_MS, signal }: PartProbeOptions): void {
  const storePart = readiness.component('store');
  const tlsPart = tlsCert !== undefined ? readiness.component('tls') : undefined;
  const certificate = tlsCert !== undefined ? parseCertificate(tlsCert) : undefined;
  const clientCas = clientCa !== undefined ? pemCertificates(clientCa) : [];
  let running = false;
  const probe = async () => {
    if (running || signal.aborted) return;
    running = true;
    try {
      await store.head(STORE_PROBE_KEY).then(
        () => storePart.up(),
        (err: unknown) => storePart.down('the store does not answer', errorMessage(err)),
      );
      if (tlsPart) {
        const problem =
          (certificate === undefined ? 'the certificate cannot be parsed' : certificateProblem(certificate, Date.now())) ??
          (clientCa !== undefined ? clientCaProblem(clientCas, Date.now()) : undefined);
        if (problem) tlsPart.down(problem);
        else tlsPart.up();
      }
    } finally {
      running = false;
    }
  };
  const withTimeout = () =>
    Promise.race([
      probe(),
      new Promise<void>((resolve) => setTimeout(resolve, STORE_PROBE_TIMEOUT_MS).unref()).then(() => {
        if (running) storePart.down('the store does not answer', `no answer to a HEAD within ${STORE_PROBE_TIMEOUT_MS} ms`);
      }),
    ]);
  void withTimeout();
  const timer = setInterval(() => void withTimeout(), everyMs);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

function parseCertificate(pem: string | Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** A bundle is fine while one of its CAs is valid: during a rotation the old one may expire first. */
function clientCaProblem(cas: X509Certificate[], now: number): string | undefined {
  if (cas.length === 0) return 'the client CA file holds no certificate';
  const problems = cas.map((ca) => certificateProblem(ca, now));
  if (problems.some((p) => p === undefined)) return undefined;
  return `no client CA certificate is valid now: ${problems.map((p) => p!.replace(/^the certificate/, 'one')).join('; ')}`;
}

function certificateProblem(cert: X509Certificate, now: number): string | undefined {
  if (Date.parse(cert.validFrom) > now) return `the certificate is not valid before ${new Date(cert.validFrom).toISOString()}`;
  if (Date.parse(cert.validTo) <= now) return `the certificate expired at ${new Date(cert.validTo).toISOString()}`;
  return undefined;
}
