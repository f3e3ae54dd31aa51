import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A PEM certificate and its key. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface ClientCertificates {
  /** The client CA the server trusts (SPARKFN_ADMISSION_CLIENT_CA_FILE). */
  ca: string;
  /** Signed by `ca`, CN = the given name, for TLS client auth. */
  client: KeyPair;
  /** The same name, signed by a CA the server does not trust. */
  stranger: KeyPair;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function selfSignedCa(dir: string, name: string): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', ['req', '-x509', ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${name}`]);
  return { certFile, keyFile };
}

async function signedClient(dir: string, ca: { certFile: string; keyFile: string }, prefix: string, commonName: string): Promise<KeyPair> {
  const keyFile = join(dir, `${prefix}.key`);
  const csrFile = join(dir, `${prefix}.csr`);
  const certFile = join(dir, `${prefix}.crt`);
  const extFile = join(dir, `${prefix}.ext`);
  await writeFile(extFile, `extendedKeyUsage=clientAuth\nsubjectAltName=DNS:${commonName}\n`);
  await run('openssl', ['req', ...EC_KEY, '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${commonName}`]);
  await run('openssl', ['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '1', '-out', certFile, '-extfile', extFile]);
  return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

/**
 * A client CA with a client certificate it signed, and a certificate of the same name from
 * another CA, made with the `openssl` CLI at test time. Valid for one day.
 */
export async function clientCertificates(commonName: string): Promise<ClientCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkfn-client-certs-'));
  try {
    const ca = await selfSignedCa(dir, 'client-ca');
    const other = await selfSignedCa(dir, 'other-ca');
    return {
      ca: await readFile(ca.certFile, 'utf8'),
      client: await signedClient(dir, ca, 'client', commonName),
      stranger: await signedClient(dir, other, 'stranger', commonName),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
