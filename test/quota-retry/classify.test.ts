import { readFileSync } from 'node:fs';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { decide } from '../../functions/quota-retry/classify.js';
import { backoffDelay } from '../../functions/quota-retry/backoff.js';

const FIXTURES = '/work/shared/fixtures/k8s';

function fixture(name: string): string {
  return readFileSync(`${FIXTURES}/${name}.json`, 'utf8');
}

describe('quota-retry: what a failed create leads to', () => {
  it.each([
    ['409-conflict-resourcequota', 'retry-now', 'quota-conflict'],
    ['409-conflict-resourcequota-captured', 'retry-now', 'quota-conflict'],
    ['403-exceeded-quota', 'queue', 'quota-exceeded'],
    ['409-already-exists', 'done', 'already-exists'],
    ['409-conflict-stale-update', 'backoff', 'transient'],
    ['410-expired-list', 'backoff', 'gone'],
    ['410-expired-continue', 'backoff', 'gone'],
    ['403-failed-quota-must-specify', 'permanent', 'invalid'],
    ['403-rbac-forbidden', 'permanent', 'forbidden'],
    ['401-unauthorized', 'permanent', 'forbidden'],
    ['404-not-found', 'permanent', 'not-found'],
    ['405-deletecollection-not-allowed', 'permanent', 'invalid'],
  ])('%s, as posted to the webhook (a Status object) → %s', (name, decision, cls) => {
    const verdict = decide(JSON.parse(fixture(name)));
    expect(verdict.decision).toBe(decision);
    expect(verdict.error.class).toBe(cls);
  });

  it.each([
    ['409-conflict-resourcequota', 'retry-now'],
    ['403-exceeded-quota', 'queue'],
    ['409-already-exists', 'done'],
    ['403-rbac-forbidden', 'permanent'],
  ])('%s, as client-node throws it (ApiException, body as text) → %s', (name, decision) => {
    const body = fixture(name);
    const code = (JSON.parse(body) as { code: number }).code;
    expect(decide(new ApiException(code, `HTTP ${code}`, body, {})).decision).toBe(decision);
  });

  it.each([
    ['429 from API Priority and Fairness (plain text, Retry-After)', new ApiException(429, 'HTTP 429', 'Too many requests, please try again later.\n', { 'retry-after': '2' }), 'backoff'],
    ['500 InternalError', new ApiException(500, 'HTTP 500', '{"kind":"Status","status":"Failure","message":"boom","reason":"InternalError","code":500}', {}), 'backoff'],
    ['a reset connection (the answer was lost)', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'backoff'],
    ['something that is no API error at all', new TypeError('x is undefined'), 'permanent'],
  ])('%s → %s', (_name, err, decision) => {
    expect(decide(err).decision).toBe(decision);
  });
});

describe('quota-retry: full-jitter backoff', () => {
  const policy = { baseMs: 250, capMs: 10_000, maxAttempts: 8 };

  it.each([
    [1, 0.999, 249],
    [2, 0.5, 250],
    [3, 0.5, 500],
    [7, 0.999, 9990],
    [12, 0.5, 5000],
  ])('retry %i with a draw of %f waits %i ms (ceiling base·2^(n-1), capped)', (retry, draw, expected) => {
    expect(backoffDelay(policy, retry, () => draw)).toBe(expected);
  });

  it('waits at least what a 429 Retry-After asks', () => {
    expect(backoffDelay(policy, 1, () => 0, 3)).toBe(3000);
  });
});
