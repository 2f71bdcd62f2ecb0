import { describe, expect, it } from 'vitest';
import { newTaskId } from '../../common/task-id.js';

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newTaskId', () => {
  it('UUIDv7: the millisecond in front, version 7, the RFC 4122 variant, unique and in creation order, also past 4,096 in one ms', () => {
    const now = 1_800_000_000_123;
    const ids = Array.from({ length: 10_000 }, (_, i) => newTaskId(now + (i < 6000 ? 0 : 1)));
    for (const id of ids) expect(id).toMatch(UUID7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(parseInt(ids[0]!.slice(0, 8) + ids[0]!.slice(9, 13), 16)).toBe(now);
    // More than 4,096 in one millisecond borrow the next ones, still in order.
    expect(parseInt(ids[5999]!.slice(0, 8) + ids[5999]!.slice(9, 13), 16)).toBeGreaterThan(now);
  });

  it('each id is its own string (the buffer it is written in is reused)', () => {
    const a = newTaskId();
    const b = newTaskId();
    expect(a).not.toBe(b);
    expect(a).toMatch(UUID7);
    expect(b > a).toBe(true);
  });
});
