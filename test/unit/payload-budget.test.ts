import { describe, expect, it } from 'vitest';
import { ResourceExhaustedError } from '../../common/errors.js';
import { PayloadBudget } from '../../master/core/payload-budget.js';

describe('PayloadBudget', () => {
  it('refuses an owner past its share, keeps others admitted, and frees bytes on release', () => {
    const b = new PayloadBudget({ maxBytesPerOwner: 1000, maxBytesTotal: 10_000 });
    b.check('a', 600);
    b.reserve('t1', 'a', 600);
    expect(() => b.check('a', 500)).toThrow(ResourceExhaustedError);
    b.check('b', 900); // another caller is not affected
    b.release('t1');
    b.release('t1'); // idempotent
    expect(b.heldBy('a')).toBe(0);
    b.check('a', 1000);
  });

  it('bounds the total across owners', () => {
    const b = new PayloadBudget({ maxBytesPerOwner: 1000, maxBytesTotal: 1500 });
    b.reserve('t1', 'a', 1000);
    expect(() => b.check('b', 600)).toThrow(/holds too much/);
    b.check('b', 500);
    expect(b.totalBytes).toBe(1000);
  });

  it('a task reserves once', () => {
    const b = new PayloadBudget({ maxBytesPerOwner: 1000 });
    b.reserve('t1', 'a', 400);
    b.reserve('t1', 'a', 400);
    expect(b.heldBy('a')).toBe(400);
  });
});
