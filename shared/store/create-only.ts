import { randomUUID } from 'node:crypto';
import { PreconditionFailedError } from '../errors.js';
import type { ObjectStore } from './object-store.js';

/** Whether a store refuses a second create-only put of one key. */
export type CreateOnlySupport = 'enforced' | 'ignored';

/**
 * Writes a fresh key under `prefix` twice with `ifNoneMatch: '*'` and deletes it again: the
 * second write failing with PreconditionFailedError means the store enforces create-only writes;
 * succeeding means it overwrote (s3rver, some S3 look-alikes). Other failures are thrown.
 * @example if ((await probeCreateOnly(store, 'doctor/')) === 'ignored') warn('no create-only writes here');
 */
export async function probeCreateOnly(store: ObjectStore, prefix: string): Promise<CreateOnlySupport> {
  const key = `${prefix}create-only-${randomUUID()}.txt`;
  await store.put(key, 'first', { ifNoneMatch: '*' });
  try {
    await store.put(key, 'second', { ifNoneMatch: '*' });
    return 'ignored';
  } catch (err) {
    if (err instanceof PreconditionFailedError) return 'enforced';
    throw err;
  } finally {
    await store.delete(key);
  }
}
