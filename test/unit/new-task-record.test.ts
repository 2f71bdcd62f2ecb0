import { describe, expect, it } from 'vitest';
import { newTaskRecord } from '../../master/core/task-admission.js';
import { initialState } from '../../master/core/task-record.js';

describe('newTaskRecord', () => {
  it('starts in exactly the state initialState describes', () => {
    const now = 1_700_000_000_000;
    const t = newTaskRecord(
      { kind: 'echo', input: { text: 'x' } },
      { input: { text: 'x' }, requirement: { kind: 'echo' }, priority: 0, bytes: 12 },
      1,
      now,
      { taskTimeoutMs: 1000, queueTimeoutMs: 2000, heartbeatTimeoutMs: 3000, maxAttempts: 3 },
    );
    const state = initialState(now);
    const picked = Object.fromEntries(Object.keys(state).map((k) => [k, (t as unknown as Record<string, unknown>)[k]]));
    expect(picked).toEqual(state);
    expect(t.status).toBe('queued');
  });
});
