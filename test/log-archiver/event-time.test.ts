import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventTime, eventTimeOfAscii } from '../../functions/log-archiver/event-time.js';

/** Whether both readers give exactly Date.parse's value; the bytes reader sees the text inside a larger value, as in an event. */
function agrees(text: string): boolean {
  const expected = Date.parse(text);
  if (!Object.is(eventTime(text), expected)) return false;
  // eventTimeOfAscii takes ASCII text only (the extractor decodes anything else).
  if (!/^[\x00-\x7f]*$/.test(text)) return true;
  const value = Buffer.from(`{"@timestamp":"${text}"}`, 'latin1');
  return Object.is(eventTimeOfAscii(value, 15, 15 + text.length), expected);
}
const same = (text: string) => expect(agrees(text), text).toBe(true);

describe('log-archiver event time', () => {
  it.each([
    '2025-05-14T02:00:00.007',
    '2025-05-14T02:00:00.007z',
    '1999-12-31T23:59:59Z',
    '2025-05-14T02:00:00.007Z',
    '2025-05-14T02:00:00Z',
    '2024-02-29T23:59:59.999Z',
    '2025-02-29T00:00:00.000Z',
    '2025-04-31T00:00:00.000Z',
    '2025-05-14T24:00:00.000Z',
    '2025-05-14T23:59:60.000Z',
    '2025-13-01T00:00:00.000Z',
    '2025-00-10T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '2025-05-14T02:00:00.0071Z',
    '2025-05-14T02:00:00.07Z',
    '2025-05-14T02:00:00.007+08:00',
    '2025-05-14 02:00:00.007Z',
    '2025-05-1xT02:00:00.007Z',
    '+2025-05-14T02:00:00.007Z',
    '',
    'not a time',
  ])('reads %j exactly as Date.parse does', same);

  it('agrees with Date.parse on random ISO-shaped times', () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((v) => String(v).padStart(2, '0'));
    const time = fc
      .tuple(fc.integer({ min: 0, max: 9999 }), two(13), two(32), two(25), two(60), two(61), fc.option(fc.integer({ min: 0, max: 999 }).map((v) => String(v).padStart(3, '0'))))
      .map(([y, mo, d, h, mi, s, ms]) => `${String(y).padStart(4, '0')}-${mo}-${d}T${h}:${mi}:${s}${ms === null ? '' : `.${ms}`}Z`);
    fc.assert(fc.property(time, agrees), { numRuns: 20000 });
  });

  it('agrees with Date.parse on the 1st, 15th and 28th of every month of years 1000 to 9999 (its own day count)', () => {
    const pad = (v: number, n: number) => String(v).padStart(n, '0');
    for (let y = 1000; y <= 9999; y++) {
      for (let m = 1; m <= 12; m++) {
        for (const d of [1, 15, 28]) {
          const text = `${y}-${pad(m, 2)}-${pad(d, 2)}T${pad(y % 24, 2)}:${pad((y * m) % 60, 2)}:${pad((y + d) % 60, 2)}.${pad(y % 1000, 3)}Z`;
          if (!agrees(text)) same(text);
        }
      }
    }
  });

  it('agrees with Date.parse on arbitrary text and on one character changed', () => {
    const changed = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.string({ minLength: 1, maxLength: 1 }))
      .map(([i, c]) => `2025-05-14T02:00:00.007Z`.slice(0, i) + c + `2025-05-14T02:00:00.007Z`.slice(i + 1));
    fc.assert(fc.property(fc.oneof(fc.string(), changed), agrees), { numRuns: 20000 });
  });
});
