import type { AuthorizationAttributes } from './auth.js';

/** One API request as the server saw it, in RBAC terms: what the authorizer was asked, who asked, and the answer. */
export interface ApiCall extends AuthorizationAttributes {
  /** The authenticated user, undefined when authentication failed. */
  user?: string;
  /** HTTP status answered (200 for a watch that started streaming). */
  code: number;
}

/** A request for something that is not a resource: discovery, /version, health. */
export interface NonResourceCall {
  method: string;
  path: string;
  code: number;
}

/** `list pods`, `patch pods/status`, `deletecollection ingresses.networking.k8s.io`. */
export function callKey(call: Pick<ApiCall, 'verb' | 'group' | 'resource' | 'subresource'>): string {
  const resource = call.group ? `${call.resource}.${call.group}` : call.resource;
  return `${call.verb} ${resource}${call.subresource ? `/${call.subresource}` : ''}`;
}

/** Counts API calls for benchmarks and for checking a function's calls against its RBAC role. */
export class CallLog {
  readonly calls: ApiCall[] = [];
  readonly nonResourceCalls: NonResourceCall[] = [];

  record(call: ApiCall): ApiCall {
    this.calls.push(call);
    return call;
  }

  recordNonResource(call: NonResourceCall): NonResourceCall {
    this.nonResourceCalls.push(call);
    return call;
  }

  reset(): void {
    this.calls.length = 0;
    this.nonResourceCalls.length = 0;
  }

  /** Calls per `verb resource[/subresource]`, keys sorted: `{ 'create pods': 3, 'list pods': 1 }`. */
  summary(): Record<string, number> {
    const counts = new Map<string, number>();
    for (const call of this.calls) counts.set(callKey(call), (counts.get(callKey(call)) ?? 0) + 1);
    return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** How many calls match every given field (`{ verb: 'list', resource: 'pods' }`). */
  count(filter: Partial<ApiCall> = {}): number {
    return this.calls.filter((c) => Object.entries(filter).every(([k, v]) => c[k as keyof ApiCall] === v)).length;
  }
}
