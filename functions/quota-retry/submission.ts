import * as z from 'zod';
import { InvalidInputError } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';

/** metav1.Status as the apiserver sends it with a failed call. */
export const statusSchema = z.looseObject({
  kind: z.literal('Status'),
  apiVersion: z.string().optional(),
  status: z.literal('Failure'),
  message: z.string(),
  reason: z.string().optional(),
  code: z.number().int().min(400).max(599),
  details: z.looseObject({ name: z.string().optional(), kind: z.string().optional(), retryAfterSeconds: z.number().optional() }).optional(),
});

/**
 * The submission-failure webhook body (published as JSON schema in the README; a test keeps the
 * two in step). Unknown fields are ignored.
 */
export const submissionSchema = z.looseObject({
  submissionId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/)
    .describe('Stable id of this submission (the same on every retry): letters, digits, ".", "_", "-", at most 200. Object names and the queue key derive from it.'),
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/).describe('Namespace the driver goes into.'),
  manifest: z
    .record(z.string(), z.unknown())
    .describe('The driver Pod, a v1 List of the ConfigMaps / Services it needs plus the Pod (in creation order), or a SparkApplication (sparkoperator.k8s.io/v1beta2).'),
  error: statusSchema.describe('The metav1.Status the apiserver answered the failed create with, as received.'),
  attempt: z.number().int().min(1).optional().describe('How many creates the submitter already tried.'),
  priority: z.number().int().optional().describe('Higher is admitted first; default 0.'),
  department: z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/)
    .optional()
    .describe('Team the driver counts against for per-department caps (a label value).'),
  deadline: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 time after which a queued submission fails (default: SPARKFN_QUOTA_DEADLINE_SECONDS after it was queued).'),
});

export type Status = z.infer<typeof statusSchema>;

/** A webhook body that passed validation. */
export interface Submission {
  submissionId: string;
  namespace: string;
  manifest: Record<string, unknown>;
  error: Status;
  attempt: number;
  priority: number;
  department?: string;
  /** ms since the epoch, when the submitter set one. */
  deadline?: number;
}

const FIELD_PROBLEMS: Record<string, { reason: string; fix: string }> = {
  submissionId: { reason: 'invalid-submission-id', fix: 'submissionId must be a stable id of letters, digits, ".", "_" and "-" (at most 200)' },
  namespace: { reason: 'missing-namespace', fix: 'namespace must name the namespace the driver goes into (a DNS label)' },
  manifest: { reason: 'unsupported-manifest', fix: 'manifest must be the driver Pod (or a List with its ConfigMaps and Services) or a SparkApplication' },
  error: { reason: 'error-not-a-status', fix: 'error must be the metav1.Status the apiserver answered (kind: Status, status: Failure, code, message)' },
  attempt: { reason: 'invalid-attempt', fix: 'attempt must be a whole number, at least 1' },
  priority: { reason: 'invalid-priority', fix: 'priority must be a whole number' },
  department: { reason: 'invalid-department', fix: 'department must be a label value (letters, digits, ".", "_", "-")' },
  deadline: { reason: 'invalid-deadline', fix: 'deadline must be an RFC 3339 time with an offset, e.g. 2026-01-01T18:00:00Z' },
};

/**
 * Validates a webhook body. Throws InvalidInputError whose reason names the first bad field
 * (`missing-namespace`, `error-not-a-status`…) and whose message lists every problem.
 */
export function parseSubmission(body: unknown): Submission {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidInputError('The body must be a JSON object: {submissionId, namespace, manifest, error, …}.', 'invalid-body');
  }
  const parsed = submissionSchema.safeParse(body);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? 'body')))];
    const first = FIELD_PROBLEMS[fields[0]!] ?? { reason: 'invalid-body', fix: 'see the JSON schema in functions/quota-retry/README.md' };
    const fixes = fields.map((f) => FIELD_PROBLEMS[f]?.fix ?? `${f} is not valid`);
    throw new InvalidInputError(`The submission is not valid: ${fixes.join('; ')}.`, first.reason);
  }
  const data = parsed.data;
  assertKeySegment(data.submissionId, 'submission id');
  return {
    submissionId: data.submissionId,
    namespace: data.namespace,
    manifest: data.manifest,
    error: data.error,
    attempt: data.attempt ?? 1,
    priority: data.priority ?? 0,
    ...(data.department ? { department: data.department } : {}),
    ...(data.deadline ? { deadline: Date.parse(data.deadline) } : {}),
  };
}

/** The webhook body's JSON schema (draft 2020-12), as published in the README. */
export function submissionJsonSchema(): unknown {
  return z.toJSONSchema(submissionSchema);
}
