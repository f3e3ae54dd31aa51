import { describe, expect, it } from 'vitest';
import { formatBytes, formatCpu, formatQuantity } from '../../shared/text/quantity.js';
import { shiftIsoTimes } from '../../shared/text/shift-times.js';

describe('quantities as people write them', () => {
  it.each([
    [4723834880, '4.4Gi'],
    [1073741824, '1Gi'],
    [1536 * 2 ** 20, '1.5Gi'],
    [2 ** 20 - 20, '1Mi'],
    [512, '512'],
    [0, '0'],
    [3 * 2 ** 40, '3Ti'],
  ])('bytes %d → %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));

  it.each([
    [2, '2'],
    [1.5, '1500m'],
    [0.25, '250m'],
  ])('cpu %d → %s', (cores, text) => expect(formatCpu(cores)).toBe(text));

  it.each([
    ['requests.memory', '4723834880', '4.4Gi'],
    ['requests.memory', '4Gi', '4Gi'],
    ['limits.memory', '4500M', '4.2Gi'],
    ['requests.cpu', '1500m', '1500m'],
    ['requests.cpu', '2', '2'],
    ['requests.cpu', '0.5', '500m'],
    ['pods', '10', '10'],
    ['requests.memory', 'lots', 'lots'],
  ])('%s %s → %s', (resource, value, text) => expect(formatQuantity(resource, value)).toBe(text));
});

describe('shiftIsoTimes', () => {
  it('moves every ISO UTC time, nested JSON included, keeping its precision', () => {
    const text = JSON.stringify({ a: '2025-05-14T02:26:30Z', b: '2025-05-14T02:26:30.500Z', nested: JSON.stringify({ t: '2025-05-14T02:00:00Z' }), other: 'v2025' });
    const moved = JSON.parse(shiftIsoTimes(text, 90_000)) as Record<string, string>;
    expect(moved.a).toBe('2025-05-14T02:28:00Z');
    expect(moved.b).toBe('2025-05-14T02:28:00.500Z');
    expect(JSON.parse(moved.nested!)).toEqual({ t: '2025-05-14T02:01:30Z' });
    expect(moved.other).toBe('v2025');
  });
});
