/**
 * SQLite listings read a page of rows and take the fresher record of a task
 * whose write is still pending (a deferred state write, a batch the writer
 * thread has not acknowledged yet), instead of scanning every task held in
 * memory: the page is still exact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { transition } from '../../master/core/task-record.js';
import { SqliteTaskStore } from '../../master/store/sqlite-task-store.js';
import { newTask } from './store-contract.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SQLite listings with writes pending', () => {
  it('lists by status and session from the fresher record, a full page also when rows on disk are stale', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-list-'));
    dirs.push(dir);
    const store = new SqliteTaskStore({ path: join(dir, 'taskwire.db') });
    const tasks = Array.from({ length: 80 }, (_, i) => newTask({ seq: i + 1, sessionId: i % 2 === 0 ? 'even' : 'odd' }));
    for (const t of tasks) store.put(t);
    await store.commit();
    // The 30 newest start running: state-only writes, deferred (the rows still say queued).
    const started = tasks.slice(50);
    for (const t of started) {
      t.attempt = 1;
      t.workerId = 'w-1';
      transition(t, 'assigned', Date.now());
      transition(t, 'running', Date.now());
      store.put(t, 'state');
    }
    const queued = store.list({ status: 'queued', limit: 40 });
    expect(queued.map((t) => t.seq)).toEqual(Array.from({ length: 40 }, (_, i) => 50 - i));
    expect(store.list({ status: 'running', limit: 100 }).map((t) => t.seq)).toEqual(started.map((t) => t.seq).reverse());
    expect(store.list({ limit: 5 }).map((t) => t.status)).toEqual(Array(5).fill('running'));
    expect(store.bySession('odd', 3).map((t) => t.seq)).toEqual([80, 78, 76]);
    // A new task not yet committed is listed too.
    const fresh = newTask({ seq: 81, sessionId: 'odd' });
    store.put(fresh);
    expect(store.list({ status: 'queued', limit: 1 })[0]!.id).toBe(fresh.id);
    expect(store.bySession('odd', 1)[0]!.id).toBe(fresh.id);
    await store.commit();
    expect(store.list({ status: 'queued', limit: 1 })[0]!.id).toBe(fresh.id);
    await store.close();
  });
});
