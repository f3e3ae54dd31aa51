/** JSON merge patch (RFC 7386) and JSON patch (RFC 6902), as kube-apiserver applies them. */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386: objects merge key by key, `null` deletes, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** Why a JSON patch could not be used: `decode` is a 400 in kube-apiserver, `apply` a 422. */
export class JsonPatchError extends Error {
  constructor(
    readonly stage: 'decode' | 'apply',
    message: string,
  ) {
    super(message);
    this.name = 'JsonPatchError';
  }
}

interface Operation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchError('apply', `invalid JSON pointer: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPatchError('apply', `invalid array index: ${token}`);
  const index = Number(token);
  if (index > length || (!forAdd && index === length)) throw new JsonPatchError('apply', `array index out of bounds: ${token}`);
  return index;
}

function parentOf(doc: unknown, tokens: string[], op: string, path: string): unknown {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[arrayIndex(token, current.length, false)];
    else if (isObject(current) && token in current) current = current[token];
    else throw new JsonPatchError('apply', `${op} operation does not apply: doc is missing path: "${path}"`);
  }
  if (!Array.isArray(current) && !isObject(current)) {
    throw new JsonPatchError('apply', `${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return current;
}

function getAt(doc: unknown, path: string, op: string): unknown {
  let current = doc;
  for (const token of decodePointer(path)) {
    if (Array.isArray(current)) current = current[arrayIndex(token, current.length, false)];
    else if (isObject(current) && token in current) current = current[token];
    else throw new JsonPatchError('apply', `${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return current;
}

function add(doc: unknown, path: string, value: unknown, op = 'add'): unknown {
  const tokens = decodePointer(path);
  if (tokens.length === 0) return structuredClone(value);
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, structuredClone(value));
  else (parent as Record<string, unknown>)[last] = structuredClone(value);
  return doc;
}

function remove(doc: unknown, path: string, op = 'remove'): unknown {
  const tokens = decodePointer(path);
  const parent = parentOf(doc, tokens, op, path);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false), 1);
  else if (isObject(parent) && last in parent) delete parent[last];
  else throw new JsonPatchError('apply', `${op} operation does not apply: doc is missing key: ${path}`);
  return doc;
}

/** Structural equality that ignores key order. */
export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isObject(value)) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  return value;
}

/** Parses a JSON patch document; anything that is not a list of operations is a decode error. */
export function decodeJsonPatch(body: unknown): Operation[] {
  if (!Array.isArray(body)) throw new JsonPatchError('decode', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return body.map((raw) => {
    if (!isObject(raw) || typeof raw.op !== 'string') throw new JsonPatchError('decode', 'json: cannot unmarshal operation');
    const op = raw.op as Operation['op'];
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op)) {
      throw new JsonPatchError('decode', `Unexpected kind: ${op}`);
    }
    if (typeof raw.path !== 'string') throw new JsonPatchError('decode', `${op} operation missing path`);
    return { op, path: raw.path, from: typeof raw.from === 'string' ? raw.from : undefined, value: raw.value };
  });
}

/** Applies RFC 6902 operations to a copy of `doc`. */
export function applyJsonPatch(doc: unknown, operations: Operation[]): unknown {
  let out = structuredClone(doc);
  for (const o of operations) {
    switch (o.op) {
      case 'add':
        out = add(out, o.path, o.value);
        break;
      case 'remove':
        out = remove(out, o.path);
        break;
      case 'replace':
        getAt(out, o.path, 'replace');
        if (decodePointer(o.path).length === 0) out = structuredClone(o.value);
        else out = add(remove(out, o.path, 'replace'), o.path, o.value, 'replace');
        break;
      case 'move': {
        const value = getAt(out, o.from ?? '', 'move');
        out = add(remove(out, o.from ?? '', 'move'), o.path, value, 'move');
        break;
      }
      case 'copy':
        out = add(out, o.path, getAt(out, o.from ?? '', 'copy'), 'copy');
        break;
      case 'test':
        if (!deepEqual(getAt(out, o.path, 'test'), o.value)) {
          throw new JsonPatchError('apply', `testing value ${o.path} failed: test failed`);
        }
        break;
    }
  }
  return out;
}
