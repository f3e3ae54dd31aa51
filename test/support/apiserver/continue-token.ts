import { badRequest } from './status.js';

/** What a continue token carries: the list's snapshot revision and the key after the last item. */
export interface ContinueToken {
  /** -1 for the "inconsistent" token of a 410 answer: continue from the latest state. */
  rv: number;
  /** Key relative to the listed prefix, followed by NUL so that the next page starts after it. */
  start: string;
}

/** etcd3 storage's token: base64url (no padding) of `{"v":"meta.k8s.io/v1","rv":…,"start":…}`. */
export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start })).toString('base64url');
}

/** Reads a token back; a malformed one is a 400, as from kube-apiserver. */
export function decodeContinue(raw: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data at input byte 0');
  }
  const p = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (p.v !== 'meta.k8s.io/v1') throw badRequest('continue key is not valid: continue key is not valid: server does not recognize this encoded version');
  if (typeof p.rv !== 'number' || typeof p.start !== 'string' || p.start === '') {
    throw badRequest('continue key is not valid: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  return { rv: p.rv, start: p.start };
}
