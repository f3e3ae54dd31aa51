import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { Config } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { errorResult } from '../../shared/http/server.js';
import type { HttpInput, HttpResult } from '../../shared/platform/trigger.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { appPrefix } from '../log-archiver/chunk-key.js';
import { META } from '../log-archiver/object-metadata.js';

/** The headers oauth2-proxy sets with `--pass-user-headers` (reverse-proxy mode), replacing any the client sent. */
export const PROXY_HEADERS = { user: 'x-forwarded-user', email: 'x-forwarded-email', groups: 'x-forwarded-groups' } as const;
/** In SPARKFN_LOGS_NAMESPACES_BY_GROUP: every namespace. */
export const ALL_NAMESPACES = '*';

/**
 * Who may read logs (SPARKFN_LOGS_AUTH):
 * - `none`: anyone who can reach the route (the default, and how it was before);
 * - `token`: callers that send `Authorization: Bearer <SPARKFN_LOGS_TOKEN>`;
 * - `proxy`: callers an auth proxy (oauth2-proxy) vouches for with X-Forwarded-User or
 *   X-Forwarded-Email, believed only from `proxies` (addresses and CIDR ranges) or, with
 *   `'any'`, from anywhere (then the proxy must be the only way in). With `namespacesByGroup`,
 *   a user reads only the namespaces their X-Forwarded-Groups map to.
 */
export type AccessPolicy =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'proxy'; proxies: BlockList | 'any'; namespacesByGroup?: ReadonlyMap<string, ReadonlySet<string>> };

/** What an admitted caller may read: every namespace, or these. */
export type ReadableNamespaces = 'all' | ReadonlySet<string>;

export type AccessVerdict = { kind: 'allowed'; user?: string; namespaces: ReadableNamespaces } | { kind: 'refused'; result: HttpResult };

/** A group=namespace pair: any group name without `=` or `,`; a namespace name, or `*` for all. */
const GROUP_PAIR = /^[^=]+=([a-z0-9]([-a-z0-9]*[a-z0-9])?|\*)$/;

/**
 * The access policy the environment configures, checked whole (config.ts only parses the
 * variables, keeping every bundle that loads it small): ConfigError naming each variable and its
 * fix when the parts do not fit together.
 */
export function accessPolicyFromConfig(config: Config): AccessPolicy {
  const problems = accessConfigProblems(config);
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.map((p) => p.message).join('; ')}.`, problems);
  switch (config.SPARKFN_LOGS_AUTH) {
    case 'none':
      return { kind: 'none' };
    case 'token':
      return { kind: 'token', token: config.SPARKFN_LOGS_TOKEN as string };
    case 'proxy': {
      const pairs = config.SPARKFN_LOGS_NAMESPACES_BY_GROUP;
      return {
        kind: 'proxy',
        proxies: proxyAddresses(config.SPARKFN_LOGS_PROXY_ADDRESSES),
        ...(pairs.length > 0 && { namespacesByGroup: namespacesByGroup(pairs) }),
      };
    }
  }
}

function accessConfigProblems(config: Config): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  const auth = config.SPARKFN_LOGS_AUTH;
  const addresses = config.SPARKFN_LOGS_PROXY_ADDRESSES;
  if (auth === 'token' && !config.SPARKFN_LOGS_TOKEN) {
    problems.push({ variable: 'SPARKFN_LOGS_TOKEN', message: 'SPARKFN_LOGS_AUTH=token needs SPARKFN_LOGS_TOKEN, the bearer token readers send (at least 16 characters)' });
  }
  if (auth === 'proxy' && addresses.length === 0) {
    problems.push({ variable: 'SPARKFN_LOGS_PROXY_ADDRESSES', message: 'SPARKFN_LOGS_AUTH=proxy needs SPARKFN_LOGS_PROXY_ADDRESSES: the auth proxy\'s addresses or CIDR ranges (10.42.0.0/16,127.0.0.1), or any when the proxy is the only way in' });
  }
  const badAddress = addresses.join() === 'any' ? undefined : addresses.find((a) => !isAddressOrRange(a));
  if (badAddress !== undefined) {
    problems.push({ variable: 'SPARKFN_LOGS_PROXY_ADDRESSES', message: `SPARKFN_LOGS_PROXY_ADDRESSES must list addresses or CIDR ranges (10.42.0.0/16,127.0.0.1), or be any; ${JSON.stringify(badAddress)} is not` });
  }
  const badPair = config.SPARKFN_LOGS_NAMESPACES_BY_GROUP.find((pair) => !GROUP_PAIR.test(pair));
  if (badPair !== undefined) {
    problems.push({ variable: 'SPARKFN_LOGS_NAMESPACES_BY_GROUP', message: `SPARKFN_LOGS_NAMESPACES_BY_GROUP must be group=namespace pairs (a group may repeat; * is every namespace), e.g. spark-admins=*,team-a=spark-team-a; ${JSON.stringify(badPair)} is not` });
  }
  if (config.SPARKFN_LOGS_NAMESPACES_BY_GROUP.length > 0 && auth !== 'proxy') {
    problems.push({ variable: 'SPARKFN_LOGS_NAMESPACES_BY_GROUP', message: 'SPARKFN_LOGS_NAMESPACES_BY_GROUP needs the groups an auth proxy sends: set SPARKFN_LOGS_AUTH=proxy too, or unset it' });
  }
  return problems;
}

function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** `group=namespace` pairs (a group may repeat) as a map. */
export function namespacesByGroup(pairs: readonly string[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const pair of pairs) {
    const at = pair.lastIndexOf('=');
    const group = pair.slice(0, at).trim();
    const namespace = pair.slice(at + 1).trim();
    map.set(group, new Set([...(map.get(group) ?? []), namespace]));
  }
  return map;
}

/** `any`, or addresses and CIDR ranges (`10.0.0.0/8`, `::1`) as a list to check peers against. */
export function proxyAddresses(entries: readonly string[]): BlockList | 'any' {
  if (entries.length === 1 && entries[0] === 'any') return 'any';
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string?];
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/**
 * Whether the request may read logs at all, decided from its headers (and peer address) alone,
 * before anything reads the store: 401 without credentials or with wrong ones, 403 when the
 * proxy headers come from an address that is not a trusted proxy or the user's groups map to no
 * namespace.
 */
export function authorize(input: HttpInput, policy: AccessPolicy): AccessVerdict {
  switch (policy.kind) {
    case 'none':
      return { kind: 'allowed', namespaces: 'all' };
    case 'token': {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(input.headers.authorization ?? '');
      if (!match) return refused(401, 'unauthorized', 'These logs need a bearer token: send Authorization: Bearer <token>.');
      if (!sameSecret(match[1] as string, policy.token)) return refused(401, 'unauthorized', 'The bearer token is not the one configured for the logs.');
      return { kind: 'allowed', namespaces: 'all' };
    }
    case 'proxy': {
      if (policy.proxies !== 'any' && !fromTrustedProxy(input.remoteAddress, policy.proxies)) {
        return refused(403, 'untrusted-proxy', 'These logs are read through the auth proxy; this request did not come from it.');
      }
      const user = input.headers[PROXY_HEADERS.user]?.trim() || input.headers[PROXY_HEADERS.email]?.trim();
      if (!user) return refused(401, 'unauthorized', 'The auth proxy did not name a user (X-Forwarded-User or X-Forwarded-Email); sign in through it.');
      if (!policy.namespacesByGroup) return { kind: 'allowed', user, namespaces: 'all' };
      const groups = (input.headers[PROXY_HEADERS.groups] ?? '').split(',').map((g) => g.trim()).filter(Boolean);
      const namespaces = new Set<string>();
      for (const group of groups) for (const ns of policy.namespacesByGroup.get(group) ?? []) namespaces.add(ns);
      if (namespaces.has(ALL_NAMESPACES)) return { kind: 'allowed', user, namespaces: 'all' };
      if (namespaces.size === 0) return refused(403, 'forbidden', `${user} is in no group that may read logs.`);
      return { kind: 'allowed', user, namespaces };
    }
  }
}

/** Whether a caller who may read `readable` may read an app in `namespace` (null: unknown, readable only by those who read all). */
export function mayRead(readable: ReadableNamespaces, namespace: string | null | undefined): boolean {
  return readable === 'all' || (namespace !== null && namespace !== undefined && readable.has(namespace));
}

/** An app's namespace from the metadata of its first object; null when the archive does not say, undefined when it has no objects. */
export async function namespaceOf(store: ObjectStore, appId: string): Promise<string | null | undefined> {
  const first = (await store.list(appPrefix(appId), { limit: 1 })).objects[0];
  if (!first) return undefined;
  return (await store.head(first.key))?.metadata[META.namespace] ?? null;
}

/** The answer to a caller who may not read this app's logs. */
export function forbiddenApp(appId: string): HttpResult {
  return errorResult(403, 'forbidden-namespace', `You may not read the logs of app ${appId}: its namespace is not one your groups may read.`);
}

function refused(status: 401 | 403, reason: string, message: string): AccessVerdict {
  const result = errorResult(status, reason, message);
  if (status === 401) result.headers = { ...result.headers, 'www-authenticate': 'Bearer realm="logs"' };
  return { kind: 'refused', result };
}

/** Equal secrets, compared in time that does not depend on where they differ (or on their lengths). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function fromTrustedProxy(address: string | undefined, proxies: BlockList): boolean {
  if (!address) return false;
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const type = isIP(plain);
  return type !== 0 && proxies.check(plain, type === 6 ? 'ipv6' : 'ipv4');
}
