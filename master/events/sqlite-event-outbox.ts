/**
 * The event outbox on disk: `events.db` in the data dir (WAL, a file of its
 * own). Rows are written by a writer thread (one transaction per batch, as
 * the task store does), so the master's event loop only hands the events
 * over; ids are given here (the newest id + 1, monotonic across restarts)
 * and the batch is reported durable when the thread has committed it.
 * Searchable fields are columns with indexes (type, task, worker, kind);
 * the event itself is JSON.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteThread } from '../store/sqlite-thread.js';
import Database from 'better-sqlite3';
import type { TaskEvent } from '../core/task-events.js';
import { type EventFilter, type EventOutbox, filterTypes, type StoredEvent } from './event-outbox.js';

/** 2: the `owner` column (a task event's submitting key id) with its index, for a user key's stream. */
export const EVENT_SCHEMA_VERSION = 2;

type Row = { id: number; json: string };
/** To the writer thread: a batch of event lines from id `first`, or a pruning step. */
type OutboxMessage = { first: number; events: string; prune?: undefined } | { prune: { before: number; rows: number } };

/** The writer thread's part (store/sqlite-thread.ts gives it `db`, `workerData` and `handle`). */
const THREAD_SOURCE = `
const insert = db.prepare('INSERT INTO events (id, ts, type, task_id, worker_id, kind, owner, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
const prune = db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? ORDER BY id LIMIT ?)');
// A batch is one string, a line per event: ts, type, task_id, worker_id, kind, owner (empty: null) and
// the event's JSON, tab-separated (JSON escapes tabs and newlines, ids, kinds and key ids have none): no parse here.
const write = db.transaction((first, lines) => {
  let id = first;
  for (const line of lines.split('\\n')) {
    if (line === '') continue;
    const f = line.split('\\t', 6);
    const json = line.slice(f[0].length + f[1].length + f[2].length + f[3].length + f[4].length + f[5].length + 6);
    insert.run(id++, Number(f[0]), f[1], f[2] || null, f[3] || null, f[4] || null, f[5] || null, json);
  }
});
handle = (m) => (m.prune ? prune.run(m.prune.before, m.prune.rows).changes : void write(m.first, m.events));
`;

export class SqliteEventOutbox implements EventOutbox {
  private readonly db: Database.Database;
  private readonly thread: SqliteThread<OutboxMessage, number | undefined>;
  private last: number;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fresh = !existsSync(path);
    this.db = new Database(path);
    if (fresh) chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > EVENT_SCHEMA_VERSION) {
      this.db.close();
      throw new Error(`${path} has event schema version ${version}, newer than this taskwire (${EVENT_SCHEMA_VERSION}): upgrade taskwire`);
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
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
    // Version 2: a task event's owner as a column, so a user key's stream reads its own events by index.
    // Events kept from before have none (no user key sees them; operators do).
    if (!(this.db.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = 'owner'").get() as unknown)) this.db.exec('ALTER TABLE events ADD COLUMN owner TEXT');
    this.db.exec('CREATE INDEX IF NOT EXISTS events_owner ON events(owner, id) WHERE owner IS NOT NULL');
    this.db.pragma(`user_version = ${EVENT_SCHEMA_VERSION}`);
    this.last = (this.db.prepare('SELECT MAX(id) AS m FROM events').get() as { m: number | null }).m ?? 0;
    this.thread = new SqliteThread(path, THREAD_SOURCE);
  }

  get lastId(): number {
    return this.last;
  }

  append(events: readonly TaskEvent[], durable: (err?: Error) => void): number[] {
    if (events.length === 0) return [];
    const first = this.last + 1;
    this.last += events.length;
    // One string per batch: a single copy across threads, far cheaper than a structured clone of every
    // event (hot path); each event's JSON made once, here, with its indexed columns in front (see THREAD_SOURCE).
    let lines = '';
    for (const e of events) {
      const f = e as { task_id?: string; worker_id?: string | null; kind?: string; owner?: string | null };
      lines += `${e.ts}\t${e.type}\t${f.task_id ?? ''}\t${f.worker_id ?? ''}\t${f.kind ?? ''}\t${f.owner ?? ''}\t${JSON.stringify(e)}\n`;
    }
    this.thread.send({ first, events: lines }, (ack) => durable(ack.error ? new Error(ack.error) : undefined));
    return events.map((_, i) => first + i);
  }

  after(afterId: number, f: EventFilter, limit: number): StoredEvent[] {
    const where = ['id > ?'];
    const args: (string | number)[] = [afterId];
    if (f.taskId !== undefined) (where.push('task_id = ?'), args.push(f.taskId));
    if (f.workerId !== undefined) (where.push('worker_id = ?'), args.push(f.workerId));
    if (f.kind !== undefined) (where.push('kind = ?'), args.push(f.kind));
    if (f.tenant !== undefined) (where.push("coalesce(json_extract(json, '$.tenant'), 'default') = ?"), args.push(f.tenant));
    if (f.owners !== undefined) {
      if (f.owners.size === 0) return [];
      where.push(`owner IN (${[...f.owners].map(() => '?').join(',')})`);
      args.push(...f.owners);
    }
    if (f.batchId !== undefined) (where.push("json_extract(json, '$.batch_id') = ?"), args.push(f.batchId));
    const types = filterTypes(f);
    if (types) {
      if (types.length === 0) return [];
      where.push(`type IN (${types.map(() => '?').join(',')})`);
      args.push(...types);
    }
    args.push(limit);
    const rows = this.db.prepare(`SELECT id, json FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...args) as Row[];
    return rows.map((r) => ({ id: r.id, event: JSON.parse(r.json) as TaskEvent }));
  }

  prune(beforeTs: number, maxRows: number): Promise<number> {
    return new Promise((resolve) => this.thread.send({ prune: { before: beforeTs, rows: maxRows } }, (ack) => resolve(ack.value ?? 0)));
  }

  async close(): Promise<void> {
    await this.thread.close();
    if (this.db.open) this.db.close();
  }
}
