import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PEM certificate and its key. */
export interface SelfSignedCertificate {
  /** PEM certificate; also the CA a client must trust. */
  cert: string;
  key: string;
}

/**
 * A throwaway certificate for 127.0.0.1 made with the `openssl` CLI (node:crypto can make keys
 * but not X.509 certificates). Valid for one day.
 */
export async function selfSignedCertificate(): Promise<SelfSignedCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkfn-apiserver-tls-'));
  try {
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '1',
      '-subj', '/CN=sparkfn-test-apiserver',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]).catch((err: unknown) => {
      throw new Error(`The test apiserver needs the openssl CLI for TLS (${(err as Error).message}); start it without tls.`);
    });
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
