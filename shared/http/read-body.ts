import type { IncomingMessage } from 'node:http';
import { SparkfnError } from '../errors.js';
import type { BodyBudget } from './body-budget.js';

/** The body is larger than the limit (HTTP 413). */
export class BodyTooLargeError extends SparkfnError {
  constructor(readonly limit: number) {
    super(`The request body is larger than ${limit} bytes.`);
    this.name = 'BodyTooLargeError';
  }
}

/** The body did not arrive within the body timeout (HTTP 408). */
export class BodyTimeoutError extends SparkfnError {
  constructor(readonly timeoutMs: number) {
    super(`The request body did not arrive within ${timeoutMs} ms.`);
    this.name = 'BodyTimeoutError';
  }
}

/** The client went away before its body was complete: nobody is left to answer. */
export class ClientGoneError extends SparkfnError {
  constructor() {
    super('The client closed the connection before its request body was complete.');
    this.name = 'ClientGoneError';
  }
}

export interface ReadBodyOptions {
  limit: number;
  timeoutMs: number;
  budget: BodyBudget;
}

/** A body read whole, and the memory reservation to give back once the request is answered. */
export interface ReadBody {
  body: Buffer;
  release: () => void;
}

/**
 * Reads a request body under three bounds: `limit` bytes (a declared length over it is refused
 * before reading; a request with no length and no chunked framing has none and reserves nothing), `timeoutMs` for the whole body including any wait for memory, and the
 * server-wide `budget`. Throws BodyTooLargeError, BodyTimeoutError or ClientGoneError; on any
 * of them the reservation is already released and reading has stopped.
 */
export async function readBody(req: IncomingMessage, { limit, timeoutMs, budget }: ReadBodyOptions): Promise<ReadBody> {
  const declared = Number(req.headers['content-length']);
  const known = req.headers['content-length'] !== undefined && Number.isFinite(declared);
  if (known && declared > limit) throw new BodyTooLargeError(limit);
  // Neither a length nor chunked framing: the request has no body (RFC 9112 §6.3), so a GET
  // /healthz never waits for body memory behind a flood of posts.
  const framed = known || req.headers['transfer-encoding'] !== undefined;
  if (!framed || (known && declared === 0)) return { body: Buffer.alloc(0), release: () => undefined };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new BodyTimeoutError(timeoutMs)), timeoutMs);
  const gone = () => deadline.abort(new ClientGoneError());
  req.once('close', gone);
  let release: (() => void) | undefined;
  try {
    release = await budget.reserve(known ? declared : limit, deadline.signal);
    const body = await collect(req, limit, deadline.signal);
    return { body, release };
  } catch (err) {
    release?.();
    throw err;
  } finally {
    clearTimeout(timer);
    req.off('close', gone);
  }
}

function collect(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: unknown, body?: Buffer) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (err) {
        // Stop pulling the rest: the answer says Connection: close and the socket goes with it.
        req.pause();
        reject(err);
      } else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(new BodyTooLargeError(limit));
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks, size));
    const onError = () => finish(new ClientGoneError());
    const onAbort = () => finish(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
