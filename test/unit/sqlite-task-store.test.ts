import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, SqliteTaskStore, STATE_WRITE_DELAY_MS } from '../../master/store/sqlite-task-store.js';
import { initialState, type TaskRecord, transition } from '../../master/core/task-record.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let seq = 0;
function newTask(over: Partial<TaskRecord> = {}): TaskRecord {
  const now = Date.now();
  return {
    id: `t-${process.pid}-${++seq}`,
    kind: 'echo',
    input: { text: 'x'.repeat(50), nested: [1, 2, { a: null }] },
    priority: 3,
    requirement: { kind: 'echo' },
    key: 'echo',
    seq,
    sessionId: 's-1',
    stream: true,
    idempotencyKey: null,
    createdAtMs: now,
    timeoutMs: 60_000,
    queueTimeoutMs: 0,
    heartbeatTimeoutMs: 3000,
    maxAttempts: 3,
    leaseUntilMs: null,
    secrets: { OPENAI_API_KEY: 'sk-never-stored' },
    tenant: 'default',
    owner: null,
    ...initialState(now),
    ...over,
  };
}

/** Attempt 1 of the task goes to `workerId` (in memory; a test puts it). */
function assign(t: TaskRecord, workerId: string, atMs = Date.now()): void {
  t.attempt = 1;
  t.workerId = workerId;
  transition(t, 'assigned', atMs);
}

/** A task that ran once on w-1 and ended at `atMs`. */
function finished(status: 'succeeded' | 'failed', atMs: number, result: TaskRecord['result'] = null): TaskRecord {
  const t = newTask();
  assign(t, 'w-1', atMs);
  t.finishedAtMs = atMs;
  t.result = result;
  transition(t, status, atMs);
  return t;
}

type RawRow = { record: string; state: string | null; status: string; attempt: number; worker_id: string | null };

describe('SQLite task store', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  function tempDb(): string {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-store-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'tasks.db');
  }

  function open(path: string): SqliteTaskStore {
    const store = new SqliteTaskStore({ path });
    cleanup.push(() => store.close());
    return store;
  }

  /** The row as on disk, read over a separate connection. */
  function raw(path: string, id: string): RawRow | undefined {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare<[string], RawRow>('SELECT record, state, status, attempt, worker_id FROM tasks WHERE id = ?').get(id);
    } finally {
      db.close();
    }
  }

  it('writes the fixed fields once and the changing ones as state; a reopened store reads back the same task, without secrets', async () => {
    const path = tempDb();
    const store = open(path);
    const task = newTask();
    store.put(task);
    await store.commit();
    const fresh = raw(path, task.id)!;
    expect(fresh.state).toBeNull(); // as submitted: nothing to store beyond the fixed part
    expect(JSON.parse(fresh.record)).toEqual({
      input: task.input, priority: 3, requirement: { kind: 'echo' }, stream: true, timeoutMs: 60_000, queueTimeoutMs: 0, heartbeatTimeoutMs: 3000, maxAttempts: 3,
    }); // nothing the columns hold (id, seq, kind, session, times, state) is repeated
    expect(fresh.record).not.toContain('sk-never-stored');

    transition(task, 'assigned', task.createdAtMs + 1);
    task.attempt = 1;
    task.workerId = 'w-1';
    transition(task, 'running', task.createdAtMs + 2);
    task.finishedAtMs = task.createdAtMs + 3;
    task.result = { text: 'done' };
    transition(task, 'succeeded', task.finishedAtMs);
    store.put(task);
    await store.commit();
    const final = raw(path, task.id)!;
    expect(final.record).toBe(fresh.record); // the input was not written again
    expect(final).toMatchObject({ status: 'succeeded', attempt: 1, worker_id: 'w-1' });
    expect(JSON.parse(final.state!)).toEqual({ result: { text: 'done' }, history: task.history }); // defaults (null, false, 0) left out
    await store.close();

    const reopened = open(path);
    const back = reopened.get(task.id)!;
    const { secrets: _s, ...expected } = task;
    expect(back).toEqual({ ...expected, secrets: null });
    expect(reopened.bySession('s-1', 10).map((t) => t.id)).toEqual([task.id]);
  });

  it('restores a task still as submitted (no state column) as queued', async () => {
    const path = tempDb();
    const store = open(path);
    const task = newTask();
    store.put(task);
    await store.close();
    const restored = open(path).loadUnfinished();
    expect(restored).toHaveLength(1);
    expect(restored[0]).toMatchObject({ id: task.id, status: 'queued', attempt: 0, history: [{ status: 'queued', atMs: task.createdAtMs }] });
  });

  it('writes an assigned/running state only once the attempt has lasted STATE_WRITE_DELAY_MS; a final before that supersedes it', async () => {
    const path = tempDb();
    const store = open(path);
    const short = newTask();
    const long = newTask();
    for (const t of [short, long]) store.put(t);
    await store.commit();
    const rowsBefore = store.stats.rows;
    for (const t of [short, long]) {
      assign(t, 'w-1');
      store.put(t, 'state');
    }
    await sleep(STATE_WRITE_DELAY_MS / 5);
    await store.commit();
    expect(raw(path, long.id)!.status).toBe('queued'); // not yet
    short.finishedAtMs = Date.now();
    short.result = { ok: true };
    transition(short, 'succeeded', short.finishedAtMs);
    store.put(short);
    await store.commit();
    expect(raw(path, short.id)!.status).toBe('succeeded');
    await sleep(STATE_WRITE_DELAY_MS * 1.5);
    await store.commit();
    expect(raw(path, long.id)).toMatchObject({ status: 'assigned', attempt: 1, worker_id: 'w-1' });
    // One row for the short task's final, one for the long task's state: the short one's state was never written.
    expect(store.stats.rows - rowsBefore).toBe(2);
    await store.close();
    expect(open(path).loadUnfinished().map((t) => [t.id, t.status, t.workerId])).toEqual([[long.id, 'assigned', 'w-1']]);
  });

  it('loadUnfinished never replaces a task already in memory with its (older) row', async () => {
    const path = tempDb();
    const store = open(path);
    const task = newTask();
    store.put(task);
    await store.commit();
    assign(task, 'w-3'); // not on disk yet (state writes wait)
    store.put(task, 'state');
    expect(store.loadUnfinished()).toEqual([]);
    expect(store.get(task.id)).toBe(task);
    expect(store.get(task.id)!.status).toBe('assigned');
  });

  it('close() writes pending state changes at once', async () => {
    const path = tempDb();
    const store = open(path);
    const task = newTask();
    store.put(task);
    await store.commit();
    assign(task, 'w-2');
    store.put(task, 'state');
    await store.close();
    expect(raw(path, task.id)).toMatchObject({ status: 'assigned', worker_id: 'w-2' });
  });

  it('reads rows written before the record/state split (one JSON column with every field)', async () => {
    const path = tempDb();
    const old = newTask({ status: 'succeeded', attempt: 1, workerId: 'w-old', finishedAtMs: 5, result: { legacy: true } });
    const pending = newTask();
    const db = new Database(path);
    db.exec(`CREATE TABLE tasks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL, session_id TEXT,
      idempotency_key TEXT, created_at INTEGER NOT NULL, finished_at INTEGER, attempt INTEGER NOT NULL DEFAULT 0, worker_id TEXT,
      assigned_at INTEGER, record TEXT NOT NULL)`);
    const insert = db.prepare('INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const t of [old, pending]) {
      const { secrets: _s, ...record } = t;
      insert.run(t.id, t.seq, t.status, t.kind, t.sessionId, null, t.createdAtMs, t.finishedAtMs, t.attempt, t.workerId, null, JSON.stringify(record));
    }
    db.close();
    const store = open(path);
    expect(store.get(old.id)).toMatchObject({ status: 'succeeded', result: { legacy: true }, workerId: 'w-old', input: old.input });
    expect(store.loadUnfinished().map((t) => t.id)).toEqual([pending.id]);
    // New writes to an old row go to the new column and read back whole.
    const p = store.get(pending.id)!;
    p.finishedAtMs = Date.now();
    p.result = { upgraded: true };
    p.attempt = 1;
    transition(p, 'assigned', p.finishedAtMs);
    transition(p, 'succeeded', p.finishedAtMs);
    store.put(p);
    await store.close();
    expect(open(path).get(pending.id)).toMatchObject({ status: 'succeeded', result: { upgraded: true }, input: pending.input });
  });

  it('upgrades a data dir of the first store (attempt and worker only in the JSON): restore keeps them', async () => {
    const path = tempDb();
    const running = newTask({ status: 'running', attempt: 2, workerId: 'w-9', assignedAtMs: 7 });
    const db = new Database(path);
    db.exec(`CREATE TABLE tasks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL, session_id TEXT,
        idempotency_key TEXT, created_at INTEGER NOT NULL, finished_at INTEGER, record TEXT NOT NULL);
      CREATE INDEX tasks_open ON tasks(status) WHERE finished_at IS NULL;`);
    const { secrets: _s, ...record } = running;
    db.prepare('INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(running.id, running.seq, 'running', 'echo', null, null, running.createdAtMs, null, JSON.stringify(record));
    db.close();
    const store = open(path);
    expect(store.loadUnfinished().map((t) => [t.id, t.status, t.attempt, t.workerId, t.assignedAtMs])).toEqual([[running.id, 'running', 2, 'w-9', 7]]);
    await store.close();
    const check = new Database(path, { readonly: true });
    cleanup.push(() => check.close());
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(check.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'tasks_open'").get()!.sql).toContain('(seq)');
  });

  it('prunes finished tasks older than the cutoff in chunks, and only those', async () => {
    const path = tempDb();
    const store = new SqliteTaskStore({ path, pruneChunkRows: 10 });
    cleanup.push(() => store.close());
    const old: TaskRecord[] = [];
    for (let i = 0; i < 25; i++) {
      const t = finished('succeeded', 1000 + i, { i });
      store.put(t);
      old.push(t);
    }
    const recent = finished('failed', Date.now());
    const queued = newTask();
    store.put(recent);
    store.put(queued);
    await store.commit();
    expect(await store.prune(Date.now() - 60_000)).toBe(25); // three chunks: 10 + 10 + 5
    for (const t of old) expect(store.get(t.id)).toBeUndefined();
    expect(store.get(recent.id)?.status).toBe('failed');
    expect(store.get(queued.id)?.status).toBe('queued');
    expect(await store.prune(Date.now() - 60_000)).toBe(0);
  });

  it('refuses a data dir written by a newer schema, saying so', () => {
    const path = tempDb();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new SqliteTaskStore({ path })).toThrow(/newer taskwire/);
  });
});
