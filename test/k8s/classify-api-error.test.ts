import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiException, CoreV1Api, FetchError } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { classifyApiError, type ApiErrorClass } from '../../shared/k8s/classify-api-error.js';
import { startTestApiserver } from '../support/apiserver/index.js';

const FIXTURES = '/work/shared/fixtures/k8s';
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => {
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    return { file, text, status: JSON.parse(text) as { code: number; message: string; reason: string } };
  });

/** Every fixture must be classified deliberately: a new file fails here until it has a line. */
const EXPECTED: Record<string, { class: ApiErrorClass; retryable: boolean }> = {
  '401-unauthorized.json': { class: 'forbidden', retryable: false },
  '403-exceeded-quota.json': { class: 'quota-exceeded', retryable: false },
  '403-failed-quota-must-specify.json': { class: 'invalid', retryable: false },
  '403-rbac-forbidden.json': { class: 'forbidden', retryable: false },
  '404-not-found.json': { class: 'not-found', retryable: false },
  '405-deletecollection-not-allowed.json': { class: 'invalid', retryable: false },
  '409-already-exists.json': { class: 'already-exists', retryable: false },
  '409-conflict-resourcequota-captured.json': { class: 'quota-conflict', retryable: true },
  '409-conflict-resourcequota.json': { class: 'quota-conflict', retryable: true },
  '409-conflict-stale-update.json': { class: 'transient', retryable: true },
  '410-expired-continue.json': { class: 'gone', retryable: true },
  '410-expired-list.json': { class: 'gone', retryable: true },
};

function expectationFor(file: string) {
  const expected = EXPECTED[file];
  if (!expected) throw new Error(`${file} is new: add its expected class to EXPECTED in this test.`);
  return expected;
}

describe('classifyApiError', () => {
  it.each(fixtures)('classifies the Status in $file', ({ file, status }) => {
    expect(classifyApiError(status)).toEqual({
      ...expectationFor(file),
      code: status.code,
      reason: status.reason,
      message: status.message,
    });
  });

  it.each(fixtures)('classifies $file wrapped in a client-node ApiException', ({ file, text, status }) => {
    const err = new ApiException<string>(status.code, 'Unknown API Status Code!', text, { 'content-type': 'application/json' });
    expect(classifyApiError(err)).toMatchObject({ ...expectationFor(file), code: status.code, reason: status.reason, message: status.message });
  });

  it('classifies a 401 ApiException, which client-node 1.x raises without a body', () => {
    expect(classifyApiError(new ApiException(401, 'Unauthorized', undefined, {}))).toMatchObject({ class: 'forbidden', code: 401, retryable: false });
  });

  it.each([
    [429, 'Too many requests, please try again later.\n', { 'retry-after': '2' }, { class: 'throttled', retryAfterSeconds: 2, retryable: true }],
    [503, '', { 'Retry-After': new Date(Date.now() + 5_000).toUTCString() }, { class: 'transient', retryable: true }],
    [504, JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Timeout', details: { retryAfterSeconds: 4 }, code: 504 }), {}, { class: 'transient', retryAfterSeconds: 4 }],
    [500, '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: request timed out","reason":"InternalError","code":500}', {}, { class: 'transient', message: 'etcdserver: request timed out' }],
    [502, '<html>bad gateway</html>', {}, { class: 'transient', message: '<html>bad gateway</html>' }],
    [422, '{"kind":"Status","status":"Failure","reason":"Invalid","message":"Pod \\"x\\" is invalid","code":422}', {}, { class: 'invalid', retryable: false }],
    [400, '{"kind":"Status","status":"Failure","reason":"BadRequest","message":"bad","code":400}', {}, { class: 'invalid' }],
    [415, 'unsupported', {}, { class: 'invalid' }],
    [408, '', {}, { class: 'transient', retryable: true }],
  ])('classifies an HTTP %i answer', (code, body, headers, expected) => {
    expect(classifyApiError(new ApiException(code, 'Unknown API Status Code!', body, headers as Record<string, string>))).toMatchObject({ code, ...expected });
  });

  it('reads an HTTP-date Retry-After as seconds from now', () => {
    const err = new ApiException(429, 'x', '', { 'retry-after': new Date(Date.now() + 10_000).toUTCString() });
    const after = classifyApiError(err).retryAfterSeconds!;
    expect(after).toBeGreaterThanOrEqual(8);
    expect(after).toBeLessThanOrEqual(11);
  });

  it('classifies the Error client-node Watch rejects with on a non-200 answer', () => {
    expect(classifyApiError(Object.assign(new Error('Gone'), { statusCode: 410 }))).toMatchObject({ class: 'gone', code: 410 });
    expect(classifyApiError(Object.assign(new Error('Too Many Requests'), { statusCode: 429 }))).toMatchObject({ class: 'throttled' });
  });

  it.each([
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['ETIMEDOUT', Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:6443'), { code: 'ETIMEDOUT' })],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })],
    ['network', new Error('socket hang up')],
    ['ERR_STREAM_PREMATURE_CLOSE', new FetchError('Premature close', 'system', Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))],
    ['AbortError', new DOMException('This operation was aborted', 'AbortError')],
    ['TimeoutError', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
    ['ECONNREFUSED', new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })],
  ])('classifies a %s network failure as transient', (reason, err) => {
    expect(classifyApiError(err)).toMatchObject({ class: 'transient', reason, retryable: true });
    expect(classifyApiError(err).code).toBeUndefined();
  });

  it('classifies the error client-node throws when nothing listens as transient', async () => {
    const server = await startTestApiserver();
    const core = server.kubeConfig().makeApiClient(CoreV1Api);
    await server.stop();
    const err = await core.listNamespacedPod({ namespace: 'x' }).catch((e: unknown) => e);
    expect(classifyApiError(err)).toMatchObject({ class: 'transient', reason: 'ECONNREFUSED', retryable: true });
  });

  it('does not retry what is not an API or network failure', () => {
    expect(classifyApiError(new TypeError("Cannot read properties of undefined (reading 'metadata')"))).toEqual({
      class: 'invalid',
      message: "Cannot read properties of undefined (reading 'metadata')",
      retryable: false,
    });
    expect(classifyApiError('boom')).toMatchObject({ class: 'invalid', message: 'boom' });
  });
});
