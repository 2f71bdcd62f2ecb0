/**
 * The event outbox on disk: `events.db` in the data dir (WAL, its own file
 * and connection, so the task store's writer is not held up). Searchable
 * fields are columns with indexes (type, task, worker, kind); the event is
 * JSON. Ids are SQLite rowids: monotonic across restarts.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { TaskEvent } from '../core/task-events.js';
import type { EventFilter, EventOutbox, StoredEvent } from './event-outbox.js';

const SCHEMA_VERSION = 1;

type Row = { id: number; json: string };

export class SqliteEventOutbox implements EventOutbox {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[number, string, string | null, string | null, string | null, string]>;
  private readonly insertMany: (events: readonly TaskEvent[]) => number[];
  private last: number;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fresh = !existsSync(path);
    this.db = new Database(path);
    if (fresh) chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new Error(`${path} has event schema version ${version}, newer than this taskwire (${SCHEMA_VERSION}): upgrade taskwire`);
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        type TEXT NOT NULL,
        task_id TEXT,
        worker_id TEXT,
        kind TEXT,
        json TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS events_task ON events(task_id, id) WHERE task_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS events_worker ON events(worker_id, id) WHERE worker_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
    `);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.insert = this.db.prepare('INSERT INTO events (ts, type, task_id, worker_id, kind, json) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertMany = this.db.transaction((events: readonly TaskEvent[]) =>
      events.map((e) => {
        const o = e as { task_id?: string; worker_id?: string | null; kind?: string };
        return Number(this.insert.run(e.ts, e.type, o.task_id ?? null, o.worker_id ?? null, o.kind ?? null, JSON.stringify(e)).lastInsertRowid);
      }),
    );
    this.last = (this.db.prepare('SELECT MAX(id) AS m FROM events').get() as { m: number | null }).m ?? 0;
  }

  get lastId(): number {
    return this.last;
  }

  append(events: readonly TaskEvent[]): number[] {
    if (events.length === 0) return [];
    const ids = this.insertMany(events);
    this.last = ids.at(-1)!;
    return ids;
  }

  after(afterId: number, f: EventFilter, limit: number): StoredEvent[] {
    const where = ['id > ?'];
    const args: (string | number)[] = [afterId];
    if (f.taskId !== undefined) (where.push('task_id = ?'), args.push(f.taskId));
    if (f.workerId !== undefined) (where.push('worker_id = ?'), args.push(f.workerId));
    if (f.kind !== undefined) (where.push('kind = ?'), args.push(f.kind));
    const types = f.status !== undefined ? [`task.${f.status}`].filter((t) => !f.types || f.types.has(t)) : f.types ? [...f.types] : undefined;
    if (types) {
      if (types.length === 0) return [];
      where.push(`type IN (${types.map(() => '?').join(',')})`);
      args.push(...types);
    }
    args.push(limit);
    const rows = this.db.prepare(`SELECT id, json FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...args) as Row[];
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.json) as TaskEvent }));
  }

  prune(beforeTs: number, maxRows: number): number {
    return this.db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? ORDER BY id LIMIT ?)').run(beforeTs, maxRows).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
