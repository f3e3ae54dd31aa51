import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../shared/errors.js';
import { assertKeySegment, isSafeKeySegment } from '../shared/ids.js';

describe('key segments', () => {
  it.each(['spark-a1b2c3d4e5f6', '1', 'driver', 'application_1553914137147_0018', 'a.b-c_d', 'x'.repeat(253)])('accepts %j', (id) => {
    expect(isSafeKeySegment(id)).toBe(true);
  });

  it.each([
    ['', /empty/],
    ['..', /relative/],
    ['.', /relative/],
    ['a..b', /'\.\.'/],
    ['a/b', /slash/],
    ['a\\b', /slash/],
    ['a\nb', /control/],
    ['a\u0000b', /control/],
    ['a\u009bb', /control/],
    ['x'.repeat(254), /longer than 253/],
  ])('refuses %j', (id, why) => {
    expect(isSafeKeySegment(id)).toBe(false);
    expect(() => assertKeySegment(id, 'app id')).toThrow(why);
    expect(() => assertKeySegment(id, 'app id')).toThrow(InvalidInputError);
  });

  it('refuses what is not a string', () => {
    expect(isSafeKeySegment(42)).toBe(false);
    expect(isSafeKeySegment(undefined)).toBe(false);
  });
});
