import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../shared/errors.js';
import { assertKeyPrefix, assertObjectKey, objectKeyProblem } from '../../shared/store/object-key.js';
import { assertPutOptions } from '../../shared/store/put-options.js';

describe('assertObjectKey', () => {
  it.each([
    'logs/spark-1a2b/exec-1/stdout.log.gz',
    'costs/dt=2024-05-01/default/spark-1.json',
    'a',
    '.hidden/..dots../x.',
    'ümlaut/日本/😀',
    Array(5).fill('x'.repeat(204)).join('/'),
    Array(5).fill('é'.repeat(102)).join('/'),
    'x'.repeat(255),
    'é'.repeat(127),
  ])('accepts %j', (key) => {
    expect(assertObjectKey(key)).toBe(key);
  });

  it.each([
    ['', 'is empty'],
    ['/abs', 'is absolute'],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['.', 'has a "." segment'],
    ['a/./b', 'has a "." segment'],
    ['..', 'has a ".." segment'],
    ['a/../../b', 'has a ".." segment'],
    ['a\\b', 'backslash'],
    ['a\u0000b', 'control character'],
    ['a\u007fb', 'control character'],
    ['a\u0085b', 'control character'],
    ['a\uD800b', 'lone surrogate'],
    ['x'.repeat(1025), 'longer than 1024 bytes'],
    ['é'.repeat(513), 'longer than 1024 bytes'],
    [`logs/${'x'.repeat(256)}`, 'a segment of 256 bytes; a file name stops at 255'],
    [`${'é'.repeat(128)}/x`, 'a segment of 256 bytes'],
  ])('rejects %j: %s', (key, problem) => {
    expect(objectKeyProblem(key)).toContain(problem);
    expect(() => assertObjectKey(key)).toThrow(InvalidInputError);
  });

  it('names the key and the problem in its message', () => {
    expect(() => assertObjectKey('../etc/passwd')).toThrow('The object key "../etc/passwd" has a ".." segment.');
  });
});

describe('assertKeyPrefix', () => {
  it.each(['', 'logs/', 'logs/spark-1/exec', 'logs/.', 'logs/..x'])('accepts %j', (prefix) => {
    expect(assertKeyPrefix(prefix)).toBe(prefix);
  });

  it.each(['/', '/logs', '../', 'logs//', 'logs/../', 'a\\b', 'a\nb'])('rejects %j', (prefix) => {
    expect(() => assertKeyPrefix(prefix)).toThrow(InvalidInputError);
  });
});

describe('assertPutOptions', () => {
  it.each([
    undefined,
    {},
    { contentType: 'application/json; charset=utf-8', contentEncoding: 'gzip' },
    { metadata: { 'app-id': 'spark-1', first_offset: '42', 'x.y': 'a b' } },
  ])('accepts %j', (options) => {
    expect(assertPutOptions(options)).toBe(options);
  });

  it.each([
    [{ contentType: '' }, 'contentType'],
    [{ contentEncoding: 'gzip\r\nx: y' }, 'contentEncoding'],
    [{ metadata: { App: 'x' } }, 'metadata name "App"'],
    [{ metadata: { '-x': 'x' } }, 'metadata name "-x"'],
    [{ metadata: { x: ' padded' } }, 'metadata value of "x"'],
    [{ metadata: { x: 'naïve' } }, 'metadata value of "x"'],
    [{ metadata: { x: 'a'.repeat(2048) } }, 'at most 2048'],
  ])('rejects %j', (options, message) => {
    expect(() => assertPutOptions(options)).toThrow(message);
  });
});
