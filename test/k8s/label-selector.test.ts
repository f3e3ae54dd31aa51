import { describe, expect, it } from 'vitest';
import { commonSelector, matchesLabels, parseLabelSelector } from '../../shared/k8s/label-selector.js';

const parse = (s: string) => {
  const r = parseLabelSelector(s);
  if (!r) throw new Error(`unparsable: ${s}`);
  return r;
};

describe('client-side label selectors', () => {
  it('matches as the apiserver does for each operator', () => {
    const labels = { 'spark-role': 'driver', app: 'etl' };
    const cases: [string, boolean][] = [
      ['', true],
      ['spark-role', true],
      ['!spark-role', false],
      ['spark-role=driver', true],
      ['spark-role==executor', false],
      ['spark-role!=executor', true],
      ['missing!=x', true],
      ['spark-role in (driver, executor)', true],
      ['spark-role notin (driver)', false],
      ['spark-role=driver,app=etl', true],
      ['spark-role=driver,app=other', false],
    ];
    expect(cases.map(([s]) => [s, matchesLabels(parse(s), labels)])).toEqual(cases);
  });

  it('leaves selectors it does not know to the apiserver', () => {
    expect(parseLabelSelector('replicas>3')).toBeUndefined();
    expect(parseLabelSelector('a=b=c')).toBeUndefined();
  });

  it('finds the requirements every selector implies', () => {
    expect(commonSelector([parse('spark-role=driver'), parse('spark-role=executor'), parse('spark-role')])).toBe('spark-role');
    expect(commonSelector([parse('spark-role in (driver)'), parse('spark-role=executor,app=x')])).toBe('spark-role');
    expect(commonSelector([parse('spark-role=driver'), parse('')])).toBe('');
    expect(commonSelector([parse('a=b,c'), parse('c,a=b')])).toBe('a=b,c');
  });
});
