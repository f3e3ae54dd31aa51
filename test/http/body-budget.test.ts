import { describe, expect, it } from 'vitest';
import { BodyBudget } from '../../shared/http/body-budget.js';

describe('body budget', () => {
  it('grants reservations while there is room and makes the next wait, first come first served', async () => {
    const budget = new BodyBudget(100);
    const never = new AbortController().signal;
    const a = await budget.reserve(60, never);
    const order: string[] = [];
    const b = budget.reserve(60, never).then((release) => (order.push('b'), release));
    const c = budget.reserve(10, never).then((release) => (order.push('c'), release));
    await new Promise((resolve) => setTimeout(resolve, 10));
    // c would fit, but b came first: no overtaking, so a large body cannot be starved by small ones.
    expect(order).toEqual([]);
    expect(budget.inUse).toBe(60);
    a();
    (await b)();
    (await c)();
    expect(order).toEqual(['b', 'c']);
    expect(budget.inUse).toBe(0);
  });

  it('gives up a wait when its signal aborts, and lets those behind it through', async () => {
    const budget = new BodyBudget(100);
    const never = new AbortController().signal;
    const held = await budget.reserve(90, never);
    const timeout = new AbortController();
    const big = budget.reserve(50, timeout.signal);
    const small = budget.reserve(5, never);
    timeout.abort(new Error('body timeout'));
    await expect(big).rejects.toThrow('body timeout');
    const release = await small;
    expect(budget.inUse).toBe(95);
    release();
    release();
    held();
    expect(budget.inUse).toBe(0);
  });

  it('grants a request larger than the whole budget once the budget is empty', async () => {
    const budget = new BodyBudget(100);
    const release = await budget.reserve(1_000, new AbortController().signal);
    expect(budget.inUse).toBe(100);
    release();
  });
});
