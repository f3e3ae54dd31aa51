import type { Readable } from 'node:stream';
import type { ByteRange, ObjectStore, ObjectSummary } from './object-store.js';

/** Reads a whole stream into one Buffer. */
export async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** An object's bytes (or a range of them) as one Buffer. */
export async function getBuffer(store: ObjectStore, key: string, range?: ByteRange): Promise<Buffer> {
  return streamToBuffer(await store.get(key, range));
}

/** Every object under `prefix`, page after page. */
export async function* listAll(store: ObjectStore, prefix: string): AsyncGenerator<ObjectSummary> {
  let token: string | undefined;
  do {
    const page = await store.list(prefix, token ? { token } : {});
    yield* page.objects;
    token = page.nextToken;
  } while (token);
}
