import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';

/** What `sparkfn serve` serves TLS with: its certificate and key, and the CA client certificates must chain to. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** PEM bundle from SPARKFN_ADMISSION_CLIENT_CA_FILE, when set. */
  clientCa?: Buffer;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM bundle that parses (a bundle may hold several CAs, e.g. during a rotation). */
export function pemCertificates(pem: string | Buffer): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const block of pem.toString().match(PEM_CERTIFICATE) ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // Not a certificate after all; the caller judges a bundle with none left.
    }
  }
  return out;
}

function readVariable(config: Config, variable: 'SPARKFN_TLS_CERT_FILE' | 'SPARKFN_TLS_KEY_FILE' | 'SPARKFN_ADMISSION_CLIENT_CA_FILE', what: string): Buffer {
  const file = config[variable]!;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${variable} (${file}) cannot be read: ${errorMessage(err)}.`, [{ variable, message: `point it at the PEM ${what}` }]);
  }
}

/**
 * The TLS files the config names, read and checked once at start: undefined without
 * SPARKFN_TLS_CERT_FILE; a ConfigError naming the variable when a file cannot be read or the
 * client CA file holds no PEM certificate.
 */
export function tlsFilesFromConfig(config: Config): TlsFiles | undefined {
  if (!config.SPARKFN_TLS_CERT_FILE || !config.SPARKFN_TLS_KEY_FILE) return undefined;
  const files: TlsFiles = { cert: readVariable(config, 'SPARKFN_TLS_CERT_FILE', 'certificate'), key: readVariable(config, 'SPARKFN_TLS_KEY_FILE', 'key') };
  if (config.SPARKFN_ADMISSION_CLIENT_CA_FILE) {
    const clientCa = readVariable(config, 'SPARKFN_ADMISSION_CLIENT_CA_FILE', 'CA certificate(s) that signed the apiserver\'s client certificate');
    if (pemCertificates(clientCa).length === 0) {
      throw new ConfigError(`Invalid configuration: SPARKFN_ADMISSION_CLIENT_CA_FILE (${config.SPARKFN_ADMISSION_CLIENT_CA_FILE}) holds no PEM certificate.`, [
        { variable: 'SPARKFN_ADMISSION_CLIENT_CA_FILE', message: 'point it at the PEM CA certificate(s) that signed the apiserver\'s client certificate' },
      ]);
    }
    files.clientCa = clientCa;
  }
  return files;
}
