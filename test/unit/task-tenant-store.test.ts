/**
 * A task's tenant and owner in the SQLite store: a data dir of schema 2 (no
 * tenant) is upgraded to 3 and its rows read as tenant `default`; a new task's
 * tenant and owner survive a reopen; tenant-scoped listings use the column;
 * the memory store filters the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { initialState, type TaskRecord } from '../../master/core/task-record.js';
import { SCHEMA_VERSION } from '../../master/store/sqlite-schema.js';
import { SqliteTaskStore } from '../../master/store/sqlite-task-store.js';
import { MemoryTaskStore } from '../../master/store/task-store.js';

let seq = 0;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function task(tenant: string, owner: string | null): TaskRecord {
  const now = Date.now();
  return {
    id: `tt-${process.pid}-${++seq}`, kind: 'echo', input: { text: 'x' }, priority: 0, requirement: { kind: 'echo' }, key: 'echo', seq,
    sessionId: null, stream: false, idempotencyKey: null, createdAtMs: now, timeoutMs: 60_000, queueTimeoutMs: 0, heartbeatTimeoutMs: 3000,
    maxAttempts: 3, leaseUntilMs: null, secrets: null, tenant, owner, ...initialState(now),
  };
}

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-tenant-store-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'taskwire.db');
}

function open(path: string): SqliteTaskStore {
  const store = new SqliteTaskStore({ path });
  cleanup.push(() => store.close());
  return store;
}

describe('tenant and owner in the task store', () => {
  it('upgrades a schema-2 data dir: old rows are tenant default; new rows keep tenant and owner across a reopen', async () => {
    const path = tempDb();
    const old = task('default', null);
    const db = new Database(path);
    db.exec(`CREATE TABLE tasks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL, session_id TEXT,
      idempotency_key TEXT, created_at INTEGER NOT NULL, finished_at INTEGER, attempt INTEGER NOT NULL DEFAULT 0, worker_id TEXT,
      assigned_at INTEGER, record TEXT NOT NULL, state TEXT);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
    const fixed = { input: old.input, priority: 0, requirement: old.requirement, stream: false, timeoutMs: 60_000, queueTimeoutMs: 0, heartbeatTimeoutMs: 3000, maxAttempts: 3 };
    db.prepare('INSERT INTO tasks (id, seq, status, kind, created_at, record) VALUES (?, ?, ?, ?, ?, ?)').run(old.id, old.seq, 'queued', 'echo', old.createdAtMs, JSON.stringify(fixed));
    db.pragma('user_version = 2');
    db.close();

    const store = open(path);
    expect(SCHEMA_VERSION).toBe(3);
    expect(store.get(old.id)).toMatchObject({ tenant: 'default', owner: null });
    const mine = task('acme', 'key-0123456789abcdef');
    store.put(mine);
    await store.commit();
    expect(store.list({ tenant: 'acme', limit: 10 }).map((t) => t.id)).toEqual([mine.id]);
    await store.close();

    const again = open(path);
    expect(again.get(mine.id)).toMatchObject({ tenant: 'acme', owner: 'key-0123456789abcdef' });
    expect(again.list({ tenant: 'acme', limit: 10 }).map((t) => t.id)).toEqual([mine.id]);
    expect(again.list({ tenant: 'default', limit: 10 }).map((t) => t.id)).toEqual([old.id]);
    expect(again.list({ limit: 10 }).map((t) => t.id).sort()).toEqual([old.id, mine.id].sort());
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(3);
    expect(check.prepare('SELECT tenant FROM tasks WHERE id = ?').get(mine.id)).toEqual({ tenant: 'acme' });
    check.close();
  });

  it('the memory store lists by tenant too', () => {
    const store = new MemoryTaskStore(100, 1024 * 1024);
    const a = task('acme', 'k1');
    const d = task('default', null);
    store.put(a);
    store.put(d);
    expect(store.list({ tenant: 'acme', limit: 10 })).toEqual([a]);
    expect(store.list({ limit: 10 })).toHaveLength(2);
  });
});
