/**
 * The event outbox on PostgreSQL (the task store's database,
 * TASKWIRE_STORE=postgres://…), shared by every master on it: one stream of
 * every master's events with one id sequence, so `Last-Event-ID` resumes
 * against any master.
 *
 * Ids come from a sequence taken under a transaction-scoped advisory lock:
 * a batch's ids are drawn and committed while no other master appends, so
 * ids become visible in increasing order and a reader that has seen id n
 * never later finds a committed id below n (a rolled-back batch leaves a
 * gap, never a reordering). Each append transaction NOTIFYs
 * `taskwire_events`; every master LISTENs, reads the rows after the last id
 * it has delivered (every master's, its own included) and hands them to its
 * followers in id order (`tail`). A poll every second covers a lost
 * notification or listening connection. One transaction per batch; the next
 * batch gathers while one is in flight; a batch PostgreSQL refuses is kept
 * and retried (bounded), so an outage delays events rather than losing them.
 * Schema versions in taskwire_room_schema.
 */
import pg from 'pg';
import type { TaskEvent } from '../core/task-events.js';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { PostgresTail } from '../store/postgres-tail.js';
import { jsonArrayText, rowsFrom } from '../store/postgres-batch-params.js';
import { type EventFilter, type EventOutbox, filterTypes, type StoredEvent } from './event-outbox.js';

/** Step n makes version n of the events room's tables. Append only. */
export const EVENTS_PG_STEPS: readonly string[] = [
  `
  CREATE TABLE tw_events (
    id bigserial PRIMARY KEY,
    ts bigint NOT NULL,
    type text NOT NULL,
    task_id text,
    worker_id text,
    kind text,
    tenant text NOT NULL,
    json text NOT NULL
  );
  CREATE INDEX tw_events_task ON tw_events (task_id, id) WHERE task_id IS NOT NULL;
  CREATE INDEX tw_events_worker ON tw_events (worker_id, id) WHERE worker_id IS NOT NULL;
  CREATE INDEX tw_events_ts ON tw_events (ts);
  `,
  // 2: a task event's owner (its submitting key id), so a user key's stream reads its own events by index;
  // rows from before have none (no user key sees them, operators do).
  `
  ALTER TABLE tw_events ADD COLUMN owner text;
  CREATE INDEX tw_events_owner ON tw_events (owner, id) WHERE owner IS NOT NULL;
  `,
];

const CHANNEL = 'taskwire_events';
/** Advisory lock held by an append transaction ("evnt"): ids are drawn and committed in order. */
const APPEND_LOCK = 0x65766e74;
const TAIL_PAGE = 1000;
const POLL_MS = 1000;
const RETRY_MS = 1000;
/** Events kept for a retry while PostgreSQL is away; past it the oldest batches are given up (reported to the event log). */
const MAX_QUEUED = 100_000;

// The events' JSON as one JSON array (store/postgres-batch-params.ts: no per-element escaping in the driver; each element's text kept as written).
const INSERT = `INSERT INTO tw_events (ts, type, task_id, worker_id, kind, tenant, owner, json)
  SELECT ts, type, task_id, worker_id, kind, tenant, owner, json::text
  FROM ${rowsFrom(['bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'json'])} WITH ORDINALITY
    AS u(ts, type, task_id, worker_id, kind, tenant, owner, json, n)
  ORDER BY n`;

const ignore = (): void => undefined;

type Queued = { events: readonly TaskEvent[]; durable: (err?: Error) => void };
type Row = { id: number; json: string };

const field = (e: TaskEvent, k: 'task_id' | 'worker_id' | 'kind' | 'owner'): string | null => ((e as unknown as Record<string, unknown>)[k] as string | undefined) ?? null;

export class PostgresEventOutbox implements EventOutbox {
  readonly shared = true;
  private queue: Queued[] = [];
  private writing: Promise<void> | undefined;
  private closing = false;

  private constructor(
    private readonly pool: pg.Pool,
    /** Every master's committed events (store/postgres-tail.ts). */
    private readonly feed: PostgresTail<Row, StoredEvent[]>,
  ) {}

  static async open(pool: pg.Pool, url: string): Promise<PostgresEventOutbox> {
    await migrateRoom(pool, 'events', EVENTS_PG_STEPS);
    const last = (await pool.query<{ m: number | null }>('SELECT max(id) AS m FROM tw_events')).rows[0]?.m ?? 0;
    const feed = await PostgresTail.open<Row, StoredEvent[]>({
      pool, url, channel: CHANNEL, appName: 'taskwire-master-events', lastId: last, pageRows: TAIL_PAGE, pollMs: POLL_MS,
      select: 'SELECT id, json FROM tw_events WHERE id > $1 ORDER BY id LIMIT $2',
      map: (rows) => rows.map((r) => ({ id: r.id, event: JSON.parse(r.json) as TaskEvent })),
    });
    return new PostgresEventOutbox(pool, feed);
  }

  /** The newest id delivered here (every master's events up to it have been handed to `tail`). */
  get lastId(): number {
    return this.feed.lastId;
  }

  /** Every master's events, in id order, once each, after they are committed. */
  tail(onEvents?: (batch: readonly StoredEvent[]) => void): void {
    this.feed.read(onEvents);
  }

  /** Ids are drawn at COMMIT: none are returned here; the events come back with their ids through `tail`. */
  append(events: readonly TaskEvent[], durable: (err?: Error) => void): number[] {
    if (events.length === 0) return [];
    this.queue.push({ events, durable });
    if (!this.writing) this.writing = this.write();
    return [];
  }

  private async write(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const all = batch.flatMap((q) => q.events);
      const cols: (string | number | null)[][] = [[], [], [], [], [], [], []];
      const json: string[] = [];
      for (const e of all) {
        cols[0]!.push(e.ts);
        cols[1]!.push(e.type);
        cols[2]!.push(field(e, 'task_id'));
        cols[3]!.push(field(e, 'worker_id'));
        cols[4]!.push(field(e, 'kind'));
        cols[5]!.push(e.tenant ?? 'default');
        cols[6]!.push(field(e, 'owner'));
        json.push(JSON.stringify(e));
      }
      let err: Error | undefined;
      const c = await this.pool.connect().catch((e: Error) => ((err = e), undefined));
      if (c) {
        c.on('error', ignore); // a connection lost while checked out: the query in flight fails, no uncaught 'error'
        try {
          await c.query('BEGIN');
          await c.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
          await c.query(INSERT, [...cols, jsonArrayText(json)]);
          await c.query(`NOTIFY ${CHANNEL}`);
          await c.query('COMMIT');
        } catch (e) {
          err = e as Error;
          await c.query('ROLLBACK').catch(() => undefined);
        } finally {
          c.off('error', ignore);
          c.release(err); // a failed connection leaves the pool
        }
      }
      if (err && !this.closing) {
        // PostgreSQL away: the batch is kept (in order) and retried; past MAX_QUEUED the oldest are given up.
        this.queue = batch.concat(this.queue);
        let queued = this.queue.reduce((n, q) => n + q.events.length, 0);
        while (queued > MAX_QUEUED && this.queue.length > 1) {
          const lost = this.queue.shift()!;
          queued -= lost.events.length;
          lost.durable(err);
        }
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
        continue;
      }
      for (const q of batch) q.durable(err);
      if (!err) this.feed.read();
    }
    this.writing = undefined;
  }

  async after(afterId: number, f: EventFilter, limit: number): Promise<StoredEvent[]> {
    const where = ['id > $1'];
    const args: (string | number | string[])[] = [afterId];
    const arg = (v: string | number | string[]) => (args.push(v), `$${args.length}`);
    if (f.taskId !== undefined) where.push(`task_id = ${arg(f.taskId)}`);
    if (f.workerId !== undefined) where.push(`worker_id = ${arg(f.workerId)}`);
    if (f.kind !== undefined) where.push(`kind = ${arg(f.kind)}`);
    if (f.tenant !== undefined) where.push(`tenant = ${arg(f.tenant)}`);
    if (f.owners !== undefined) {
      if (f.owners.size === 0) return [];
      where.push(`owner = ANY(${arg([...f.owners])}::text[])`);
    }
    // No column: a batch's follower reads the rows after its id, as a type filter does, and their JSON for the batch id.
    if (f.batchId !== undefined) where.push(`(json::jsonb ->> 'batch_id') = ${arg(f.batchId)}`);
    const types = filterTypes(f);
    if (types) {
      if (types.length === 0) return [];
      where.push(`type IN (${types.map((t) => arg(t)).join(', ')})`);
    }
    const sql = `SELECT id, json FROM tw_events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${arg(limit)}`;
    return (await this.pool.query<Row>(sql, args)).rows.map((r) => ({ id: r.id, event: JSON.parse(r.json) as TaskEvent }));
  }

  /** Never rejects (the event log prunes from a timer): PostgreSQL out of reach prunes nothing this time. */
  async prune(beforeTs: number, maxRows: number): Promise<number> {
    try {
      const r = await this.pool.query('DELETE FROM tw_events WHERE id IN (SELECT id FROM tw_events WHERE ts < $1 ORDER BY id LIMIT $2)', [beforeTs, maxRows]);
      return r.rowCount ?? 0;
    } catch {
      return 0;
    }
  }

  /** Writes what is queued (a batch PostgreSQL refuses now is given up), then stops listening (the rooms' pool is ended after this). */
  async close(): Promise<void> {
    this.closing = true;
    while (this.writing) await this.writing;
    await this.feed.close();
  }
}
