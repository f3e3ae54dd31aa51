import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { FileObjectStore } from './fs-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-store.js';

/** The settings openStore reads; a whole Config will do. */
export type StoreConfig = Pick<
  Config,
  | 'SPARKFN_STORE'
  | 'SPARKFN_STORE_FSYNC'
  | 'SPARKFN_S3_ENDPOINT'
  | 'SPARKFN_S3_REGION'
  | 'SPARKFN_S3_FORCE_PATH_STYLE'
  | 'SPARKFN_S3_ACCESS_KEY_ID'
  | 'SPARKFN_S3_SECRET_ACCESS_KEY'
>;

/**
 * The store SPARKFN_STORE names: `file://<dir>` (everything after `file://` is the path,
 * relative to the working directory unless it starts with `/`; SPARKFN_STORE_FSYNC makes its
 * writes survive a power loss) or `s3://<bucket>[/prefix]`
 * with the SPARKFN_S3_* settings. Without an access key pair the SDK's default credential
 * chain applies (environment, profile, container or instance role).
 * @example openStore(loadConfig({ SPARKFN_STORE: 's3://spark-ops/prod' })).url // 's3://spark-ops/prod'
 */
export function openStore(config: StoreConfig): ObjectStore {
  const url = config.SPARKFN_STORE;
  if (url.startsWith('file://')) {
    const dir = url.slice('file://'.length);
    if (!dir) throw storeError('SPARKFN_STORE must name a directory after file://, e.g. file://.sparkfn-data or file:///var/lib/sparkfn');
    return new FileObjectStore(dir, { fsync: config.SPARKFN_STORE_FSYNC });
  }
  const s3 = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!s3) throw storeError('SPARKFN_STORE must be file://<dir> or s3://<bucket>[/prefix]');
  const id = config.SPARKFN_S3_ACCESS_KEY_ID;
  const secret = config.SPARKFN_S3_SECRET_ACCESS_KEY;
  if (Boolean(id) !== Boolean(secret)) {
    const [missing, present] = id ? ['SPARKFN_S3_SECRET_ACCESS_KEY', 'SPARKFN_S3_ACCESS_KEY_ID'] : ['SPARKFN_S3_ACCESS_KEY_ID', 'SPARKFN_S3_SECRET_ACCESS_KEY'];
    const message = `${missing} must be set when ${present} is (or unset both to use the default credential chain)`;
    throw new ConfigError(`Invalid configuration: ${message}.`, [{ variable: missing, message }]);
  }
  try {
    return new S3ObjectStore({
      bucket: s3[1] as string,
      prefix: s3[2],
      endpoint: config.SPARKFN_S3_ENDPOINT,
      region: config.SPARKFN_S3_REGION,
      forcePathStyle: config.SPARKFN_S3_FORCE_PATH_STYLE,
      credentials: id && secret ? { accessKeyId: id, secretAccessKey: secret } : undefined,
    });
  } catch (err) {
    throw storeError(`SPARKFN_STORE ${JSON.stringify(url)} is not usable: ${(err as Error).message}`);
  }
}

function storeError(message: string): ConfigError {
  return new ConfigError(`Invalid configuration: ${message.replace(/\.$/, '')}.`, [{ variable: 'SPARKFN_STORE', message }]);
}
