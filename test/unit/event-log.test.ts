import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MemoryEventOutbox } from '../../master/events/event-outbox.js';
import { SqliteEventOutbox } from '../../master/events/sqlite-event-outbox.js';
import { exerciseEventLog as exercise } from './event-log-contract.js';

describe('event log', () => {
  it('memory outbox: ids, delivery after keeping, filters, chunked pruning', () => exercise(() => new MemoryEventOutbox()));

  it('memory outbox: a full ring keeps the newest events with their ids', async () => {
    const box = new MemoryEventOutbox(100);
    const ev = (i: number) => ({ seq: i, ts: i, tenant: 'default', type: 'worker.online', worker_id: `w${i}` }) as const;
    let ids: number[] = [];
    for (let i = 1; i <= 250; i += 10) ids = box.append(Array.from({ length: 10 }, (_, k) => ev(i + k)), () => {});
    expect(ids).toEqual(Array.from({ length: 10 }, (_, k) => 241 + k));
    expect(box.lastId).toBe(250);
    const all = box.after(0, {}, 1000);
    expect(all.map((s) => s.id)).toEqual(Array.from({ length: 100 }, (_, k) => 151 + k));
    expect(all.every((s) => s.event.seq === s.id)).toBe(true);
    expect(box.after(240, { workerId: 'w245' }, 10).map((s) => s.id)).toEqual([245]);
    expect(await box.prune(161, 1000)).toBe(10); // ts 151..160
    expect(box.after(0, {}, 1).map((s) => s.id)).toEqual([161]);
    expect(await box.prune(10_000, 1000)).toBe(90);
    expect(box.lastId).toBe(250);
    expect(box.append([ev(251)], () => {})).toEqual([251]);
  });

  it('SQLite outbox: the same, ids continue after reopening, file 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-evlog-'));
    try {
      const path = join(dir, 'events.db');
      await exercise(() => new SqliteEventOutbox(path));
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const again = new SqliteEventOutbox(path);
      expect(again.lastId).toBe(21);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SQLite outbox: an events.db of schema 1 (no owner column) keeps its events, gains the column and its index; a user key sees only newer, owned events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-evlog-v1-'));
    try {
      const path = join(dir, 'events.db');
      const old = new Database(path);
      old.exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, type TEXT NOT NULL, task_id TEXT, worker_id TEXT, kind TEXT, json TEXT NOT NULL);
        CREATE INDEX events_task ON events(task_id, id) WHERE task_id IS NOT NULL;
        CREATE INDEX events_worker ON events(worker_id, id) WHERE worker_id IS NOT NULL;
        CREATE INDEX events_ts ON events(ts);`);
      const before = { seq: 1, ts: 5, tenant: 'default', type: 'task.queued', task_id: 'old', kind: 'echo', attempt: 0, session_id: null, priority: 0 };
      old.prepare('INSERT INTO events (id, ts, type, task_id, kind, json) VALUES (1, 5, ?, ?, ?, ?)').run('task.queued', 'old', 'echo', JSON.stringify(before));
      old.pragma('user_version = 1');
      old.close();
      const box = new SqliteEventOutbox(path);
      await new Promise<void>((resolve, reject) => box.append([{ ...before, seq: 2, task_id: 'new', owner: 'key-a' } as never], (err) => (err ? reject(err) : resolve())));
      expect(box.after(0, {}, 10).map((s) => (s.event as { task_id: string }).task_id)).toEqual(['old', 'new']);
      expect(box.after(0, { owners: new Set(['key-a']) }, 10).map((s) => s.id)).toEqual([2]);
      await box.close();
      const db = new Database(path, { readonly: true });
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(2);
        const plan = db.prepare("EXPLAIN QUERY PLAN SELECT id, json FROM events WHERE id > 0 AND owner IN ('key-a', 'key-b') ORDER BY id LIMIT 10").all() as { detail: string }[];
        expect(plan.map((r) => r.detail).join('; ')).toContain('events_owner');
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
