import { randomBytes } from 'node:crypto';
import { assertKeySegment } from '../../shared/ids.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import type { KindOutcome } from './apply.js';
import type { TtlSource } from './app-state.js';

/** Where audit records go (DESIGN.md's object store layout). */
export const AUDIT_PREFIX = 'audit/janitor/';

/** What one run did to one app. */
export interface AppAudit {
  namespace: string;
  appId: string;
  state: 'finished' | 'orphaned';
  finishedAt?: string;
  ttl?: string;
  ttlSource?: TtlSource;
  kinds: KindOutcome[];
  /** Objects deleted (or that would be) across kinds. */
  deleted: number;
  error?: string;
}

/** An app or object left alone for a reason worth reading: a bad annotation, a failed list. */
export interface SkipAudit {
  what: string;
  reason: string;
}

/** The audit record of one run: `audit/janitor/dt=<day>/<runId>.json`. */
export interface AuditRecord {
  runId: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  namespaces: { include: readonly string[]; exclude: readonly string[] };
  apps: AppAudit[];
  skipped: SkipAudit[];
  errors: string[];
  /** Resources whose deletecollection the apiserver refused, and why. */
  fallbacks: Record<string, string>;
  counts: Record<string, number>;
  /** Set when the run died and a later run wrote this record from its write-ahead log. */
  completedBy?: string;
}

/** `20260101T000000Z-1a2b3c4d`: sortable by time, unique without coordination. */
export function newRunId(nowMs: number, random: () => Buffer = () => randomBytes(4)): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${stamp}-${random().toString('hex')}`;
}

/** When a run started, from its id (NaN for something that is no run id). */
export function runStartedAt(runId: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(runId);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : Number.NaN;
}

/** The record's key; the run id is checked as a key segment. */
export function auditKey(runId: string, startedAtMs: number): string {
  const day = new Date(startedAtMs).toISOString().slice(0, 10);
  return `${AUDIT_PREFIX}dt=${day}/${assertKeySegment(runId, 'janitor run id')}.json`;
}

/** Writes the record (a retried run gets a new run id, so nothing is overwritten). */
export async function writeAudit(store: ObjectStore, record: AuditRecord, startedAtMs: number): Promise<string> {
  const key = auditKey(record.runId, startedAtMs);
  await store.put(key, JSON.stringify(record, null, 1) + '\n', { contentType: 'application/json' });
  return key;
}
