/**
 * Finished tasks' payloads are held in memory by bytes, not only by count:
 * a flood of 1 MiB tasks cannot grow the master past the budget. With SQLite
 * the evicted ones are read back from disk; the memory store forgets them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initialState, type TaskRecord, transition } from '../../master/core/task-record.js';
import { approxPayloadBytes } from '../../master/store/payload-bytes.js';
import { SqliteTaskStore } from '../../master/store/sqlite-task-store.js';
import { MemoryTaskStore } from '../../master/store/task-store.js';

const MiB = 1024 * 1024;
let seq = 0;

/** An echo task with a `chars`-character input that succeeded with the same text. */
function finishedEcho(chars: number): TaskRecord {
  const now = Date.now();
  const text = `${++seq}:`.padEnd(chars, 'x');
  const t: TaskRecord = {
    id: `pc-${process.pid}-${seq}`, kind: 'echo', input: { text }, priority: 0, requirement: { kind: 'echo' }, key: 'echo', seq,
    sessionId: null, stream: false, idempotencyKey: null, createdAtMs: now, timeoutMs: 60_000, queueTimeoutMs: 0,
    heartbeatTimeoutMs: 3000, maxAttempts: 3, leaseUntilMs: null, secrets: {}, tenant: 'default', owner: null, ...initialState(now),
  };
  t.attempt = 1;
  t.workerId = 'w-1';
  transition(t, 'assigned', now);
  t.finishedAtMs = now;
  t.result = { text };
  transition(t, 'succeeded', now);
  return t;
}

describe('payload bytes', () => {
  it('counts strings by length and walks containers', () => {
    expect(approxPayloadBytes(null)).toBe(0);
    expect(approxPayloadBytes('x'.repeat(MiB))).toBeGreaterThanOrEqual(2 * MiB);
    expect(approxPayloadBytes({ a: ['x'.repeat(1000), 1, true] })).toBeGreaterThan(2000);
  });
});

describe('finished-task cache bounded by bytes', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('SQLite: 40 tasks of ~1 MiB stay under an 8 MiB budget and every one reads back from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-pcache-'));
    dirs.push(dir);
    const store = new SqliteTaskStore({ path: join(dir, 'taskwire.db'), maxCachedFinishedBytes: 8 * MiB });
    const ids: string[] = [];
    let peak = 0;
    for (let i = 0; i < 40; i++) {
      const t = finishedEcho(MiB / 2);
      ids.push(t.id);
      store.put(t);
      peak = Math.max(peak, store.cachedPayloadBytes);
      if (i % 8 === 7) await store.commit();
    }
    await store.commit();
    // one task's payload (input + result) is ~2 MiB by the estimate; the budget holds, give or take the newest
    expect(peak).toBeLessThanOrEqual(8 * MiB + 2.5 * MiB);
    for (const id of ids) expect((store.get(id)?.result as { text: string }).text.startsWith(`${id.split('-').at(-1)}:`)).toBe(true);
    await store.close();
  });

  it('memory store: the budget holds and the newest tasks stay', () => {
    const store = new MemoryTaskStore(100_000, 8 * MiB);
    let last: TaskRecord | undefined;
    let first: TaskRecord | undefined;
    for (let i = 0; i < 40; i++) {
      last = finishedEcho(MiB / 2);
      first ??= last;
      store.put(last);
      expect(store.cachedPayloadBytes).toBeLessThanOrEqual(8 * MiB + 2.5 * MiB);
    }
    expect(store.get(last!.id)).toBeDefined();
    expect(store.get(first!.id)).toBeUndefined();
  });
});
