import { describe, expect, it } from 'vitest';
import type { LiveLine } from '../../functions/log-viewer/live-pod-log.js';
import { parseKubeTime, sinceTimeOf } from '../../functions/log-viewer/live-pod-log.js';
import { findSeam, LiveCursor } from '../../functions/log-viewer/live-seam.js';

/** A live line at `ms` (+ `ns` nanoseconds). */
const at = (ms: number, text: string, ns = 0): LiveLine => ({ timeNs: BigInt(ms) * 1_000_000n + BigInt(ns), text });

describe('findSeam', () => {
  it.each([
    // [case, window, archived tail, last archived ms, expected]
    ['overlap ends inside the window', [at(1, 'a'), at(2, 'b'), at(3, 'c')], ['x', 'a', 'b'], 2, { index: 2, kind: 'text' }],
    ['nothing archived in the window', [at(5, 'c')], ['a', 'b'], 2, { index: 0, kind: 'text' }],
    ['the whole window is archived', [at(1, 'a'), at(2, 'b')], ['a', 'b'], 2, { index: 2, kind: 'text' }],
    ['identical lines at the last ms: two archived, the third new', [at(1, 'z'), at(2, 'd', 1), at(2, 'd', 2), at(2, 'd', 3)], ['z', 'd', 'd'], 2, { index: 3, kind: 'text' }],
    ['identical lines at the last ms: all three archived', [at(1, 'z'), at(2, 'd', 1), at(2, 'd', 2), at(2, 'd', 3)], ['z', 'd', 'd', 'd'], 2, { index: 4, kind: 'text' }],
    ['the other stream interleaved (both streams in the tail)', [at(1, 'out'), at(1, 'err'), at(2, 'out2'), at(3, 'new')], ['err0', 'out', 'err', 'out2'], 2, { index: 3, kind: 'text' }],
    ['older lines must be covered: no overlap fits, joined by time', [at(1, 'a'), at(2, 'b'), at(3, 'c')], ['q', 'r'], 2, { index: 2, kind: 'time' }],
    ['a younger line is never taken as archived', [at(1, 'a'), at(3, 'a')], ['a', 'a'], 2, { index: 1, kind: 'text' }],
    ['an empty window', [], ['a'], 2, { index: 0, kind: 'text' }],
  ])('%s', (_, window, archived, lastMs, expected) => {
    expect(findSeam(window as LiveLine[], archived as string[], lastMs as number)).toEqual(expected);
  });
});

describe('LiveCursor', () => {
  it('drops what a resumed request repeats, counting identical lines at one time', () => {
    const cursor = new LiveCursor();
    const first = [at(1, 'a'), at(2, 'x', 5), at(2, 'x', 5)];
    expect(first.map((l) => cursor.admit(l))).toEqual([true, true, true]);
    cursor.resume();
    // The same second again: the two lines at the cursor's time are repeats, the third at that time is new.
    const again = [at(1, 'a'), at(2, 'x', 5), at(2, 'x', 5), at(2, 'x', 5), at(3, 'b')];
    expect(again.map((l) => cursor.admit(l))).toEqual([false, false, false, true, true]);
    cursor.resume();
    expect([at(2, 'x', 5), at(3, 'b'), at(3, 'c')].map((l) => cursor.admit(l))).toEqual([false, false, true]);
  });

  it('lets everything through before any line went out', () => {
    const cursor = new LiveCursor();
    expect([at(2, 'b'), at(1, 'a')].map((l) => cursor.admit(l))).toEqual([true, false]);
  });
});

describe('kube times', () => {
  it.each([
    ['2025-05-14T02:15:00.100000000Z', 1747188900100000000n],
    ['2025-05-14T02:15:00.1Z', 1747188900100000000n],
    ['2025-05-14T10:15:00.000000001+08:00', 1747188900000000001n],
    ['2025-05-14T02:15:00Z', 1747188900000000000n],
    ['not a time', undefined],
  ])('parses %s', (text, ns) => {
    expect(parseKubeTime(text)).toBe(ns);
  });

  it('asks from the start of the second', () => {
    expect(sinceTimeOf(1747188900999999999n)).toBe('2025-05-14T02:15:00Z');
  });
});
