/**
 * The PostgreSQL store's writer: one connection, one job at a time, each
 * batch one statement (multi-row parts over unnest() arrays, the JSON
 * columns as JSON arrays (postgres-batch-params.ts), joined as
 * data-modifying CTEs: one round trip and one transaction, whatever the
 * batch size). A job that fails is retried, in order, on a new
 * connection (backoff up to a second) until it commits: nothing handed over
 * is dropped. After `downAfterMs` of failing it reports the store down
 * (`onDown`), and up again after the next commit (`onUp`). While idle it
 * pings, so an outage is noticed before the next submit.
 *
 * One master per database: the writer's connection holds a session advisory
 * lock (MASTER_LOCK), taken right after connecting, and writes only on a
 * connection that holds it. A connection that is lost loses the lock with
 * it; a reconnect that finds it taken by another master fails like an outage
 * (nothing is written, nothing acknowledged).
 */
import pg from 'pg';
import type { InsertRow, StateRow, UpdateRow } from './sqlite-writer.js';
import { batchColumns, jsonColumns, rowsFrom } from './postgres-batch-params.js';
import { fencedStatements, MultiMasterLockError, type WriteFence } from './postgres-fence.js';

export interface PgBatch {
  insert: PgInsertRow[];
  /** Multi-master: per inserted row, whether it is pooled (no owner). */
  insertOwners?: boolean[];
  /** Multi-master: finals of claimed tasks, announced to the other masters on commit (their waiting clients). */
  notifyFinals?: string[];
  update: PgUpdateRow[];
  state: StateRow[];
  meta: [string, string][];
}

/** The SQLite store's insert row, then tenant, model, the search text (final rows only, else null), priority and features (featuresColumn). */
export type PgInsertRow = [...InsertRow, string, string | null, string | null, number, string | null];
/** The SQLite store's update row, then the search text (final rows only, else null). */
export type PgUpdateRow = [...UpdateRow, string | null];

type Job =
  | { kind: 'batch'; batch: PgBatch; done: () => void }
  | { kind: 'prune'; before: number; limit: number; done: (n: number) => void };

export interface PostgresWriterOptions {
  url: string;
  /** Failing this long makes the store report down (default 2000 ms). */
  downAfterMs?: number;
  /** Idle ping interval (default 1000 ms). */
  pingIntervalMs?: number;
  onDown: (err: Error) => void;
  onUp: () => void;
  /** Multi-master mode (postgres-fence.ts): a shared lock, owned inserts, fenced updates. */
  fence?: WriteFence;
}

/** Distinct batch statements kept prepared per connection (single mode has at most 15). */
const MAX_NAMED = 64;

/** int8 columns (seq, times) as numbers: every value we store is below 2^53. */
const INT8_OID = 20;

/** Key of the session advisory lock a master's writer holds on its database ("twm1"). */
export const MASTER_LOCK = 0x74776d31;

/** Another master holds the database (its writer connection has MASTER_LOCK). */
export class MasterLockHeldError extends Error {
  readonly code = 'STORE_LOCKED';
  constructor() {
    super('another taskwire master holds this database (one master per PostgreSQL database)');
    this.name = 'MasterLockHeldError';
  }
}
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** Client settings shared by the store's connections. */
export function pgClientConfig(url: string): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: 3000,
    query_timeout: 15_000,
    keepAlive: true,
    application_name: 'taskwire-master',
    types: PG_TYPES,
  };
}

// tenant, model, the search words (set when the row is final), priority and features are columns of
// their own, filled here (postgres-schema.ts steps 2 to 4): no index parses the record's JSON. Priority
// and features are set once, at the insert (a task's requirement and priority never change).
/** The insert's columns as parameters: record and state as JSON arrays (postgres-batch-params.ts). */
export const INSERT_TYPES = ['text', 'bigint', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'int', 'text', 'bigint', 'json', 'json', 'text', 'text', 'text', 'int', 'text'] as const;
const INSERT = `INSERT INTO tasks (id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state, tenant, model, search, priority, features)
  SELECT id, seq, status, kind, sid, idem, created, fin, att, wid, asg, rec::text, nullif(st::text, 'null'), ten, mdl, to_tsvector('simple', txt), prio, feat
  FROM ${rowsFrom(INSERT_TYPES)}
    AS u(id, seq, status, kind, sid, idem, created, fin, att, wid, asg, rec, st, ten, mdl, txt, prio, feat)
  ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, status = excluded.status, finished_at = excluded.finished_at, attempt = excluded.attempt,
    worker_id = excluded.worker_id, assigned_at = excluded.assigned_at, record = excluded.record, state = excluded.state, search = excluded.search`;
/** The update's columns as parameters: state as a JSON array. */
export const UPDATE_TYPES = ['text', 'bigint', 'int', 'text', 'bigint', 'json', 'text', 'text'] as const;
const UPDATE = `UPDATE tasks AS t SET status = u.status, finished_at = u.finished_at, attempt = u.attempt, worker_id = u.worker_id, assigned_at = u.assigned_at,
    state = nullif(u.state::text, 'null'), search = to_tsvector('simple', u.txt)
  FROM ${rowsFrom(UPDATE_TYPES)} AS u(status, finished_at, attempt, worker_id, assigned_at, state, id, txt)
  WHERE t.id = u.id`;
export const INSERT_JSON = jsonColumns(INSERT_TYPES);
export const UPDATE_JSON = jsonColumns(UPDATE_TYPES);
const STATE = `UPDATE tasks AS t SET status = u.status, attempt = u.attempt, worker_id = u.worker_id, assigned_at = u.assigned_at
  FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::text[]) AS u(status, attempt, worker_id, assigned_at, id)
  WHERE t.id = u.id`;
const META = `INSERT INTO meta (key, value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
const PRUNE = 'DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE finished_at IS NOT NULL AND finished_at < $1 LIMIT $2)';

export class PostgresWriter {
  private client: pg.Client | undefined;
  private readonly jobs: Job[] = [];
  private running = false;
  private closed = false;
  private failingSince: number | undefined;
  private down = false;
  private readonly pingTimer: NodeJS.Timeout;
  /** Transactions committed and rows written (metrics, tests). */
  readonly stats = { transactions: 0, rows: 0, retries: 0 };

  constructor(private readonly options: PostgresWriterOptions) {
    this.pingTimer = setInterval(() => void this.ping(), options.pingIntervalMs ?? 1000);
    this.pingTimer.unref();
  }

  get busy(): boolean {
    return this.running || this.jobs.length > 0;
  }

  write(batch: PgBatch, done: () => void): void {
    this.enqueue({ kind: 'batch', batch, done });
  }

  prune(before: number, limit: number): Promise<number> {
    return new Promise((done) => this.enqueue({ kind: 'prune', before, limit, done }));
  }

  private enqueue(job: Job): void {
    this.jobs.push(job);
    if (!this.running) void this.drain();
  }

  private connecting: Promise<pg.Client> | undefined;

  /** The connection (one at a time: the ping and a job never open two, which would contend for the lock). */
  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client(pgClientConfig(this.options.url));
    // A connection lost while idle: forget it (the next job reconnects).
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
      // Several masters (multi-master mode) share the lock; one master alone holds it exclusively.
      const fn = this.options.fence ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
      const lock = await client.query<{ ok: boolean }>(`SELECT ${fn}($1) AS ok`, [MASTER_LOCK]);
      if (!lock.rows[0]?.ok) throw this.options.fence ? new MultiMasterLockError() : new MasterLockHeldError();
    } catch (err) {
      void client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      void client.end().catch(() => undefined);
      throw new Error('the store is closed');
    }
    this.client = client;
    return client;
  }

  /** Connects and takes the master lock now (the store's open() fails at once when another master holds it). */
  async connect(): Promise<void> {
    await this.connection();
  }

  private async run(job: Job): Promise<number> {
    const client = await this.connection();
    if (job.kind === 'prune') return (await client.query(PRUNE, [job.before, job.limit])).rowCount ?? 0;
    const b = job.batch;
    if (this.options.fence) return this.runFenced(client, b, this.options.fence);
    // One statement (data-modifying CTEs), so one round trip and one implicit transaction.
    // An id is in one list only, so no two parts touch the same row.
    const parts: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, rows: unknown[][], width: number, json?: ReadonlySet<number>) => {
      if (rows.length === 0) return;
      const base = params.length;
      params.push(...batchColumns(rows, width, json));
      parts.push(`w${parts.length} AS (${sql.replace(/\$(\d+)/g, (_, n: string) => `$${base + Number(n)}`)})`);
    };
    add(INSERT, b.insert, 18, INSERT_JSON);
    add(UPDATE, b.update, 8, UPDATE_JSON);
    add(STATE, b.state, 5);
    add(META, b.meta, 2);
    if (parts.length > 0) await client.query(this.prepared(`WITH ${parts.join(', ')} SELECT 1`, params));
    return b.insert.length + b.update.length + b.state.length + b.meta.length;
  }

  /** Multi-master: the same batch, inserts with their owner, updates only of rows this master still owns. */
  private async runFenced(client: pg.Client, b: PgBatch, fence: WriteFence): Promise<number> {
    const { sql, params, sent } = fencedStatements(b, fence);
    if (!sql) return 0;
    const r = await client.query<{ ids: string[] | null }>(this.prepared(sql, params));
    if (sent.length > 0) {
      const kept = new Set(r.rows[0]?.ids ?? []);
      const refused = sent.filter((id) => !kept.has(id));
      if (refused.length > 0) fence.onRefused(refused);
    }
    return b.insert.length + b.update.length + b.state.length + b.meta.length;
  }

  /** Statement texts and their names: a batch's text depends only on which parts it has, so there are few. */
  private readonly names = new Map<string, string>();

  /**
   * A batch's statement as a named (prepared) statement: the server parses, analyses and plans it
   * once per connection instead of once per batch (with 14 indexes on the task table that is most
   * of a small batch's cost: ~280 µs for an insert of one row, ~560 µs for an update). A name
   * stands for one text for the writer's life (the pg client keeps what each connection has
   * prepared, a new connection prepares again); past MAX_NAMED texts, unnamed.
   */
  private prepared(text: string, values: unknown[]): pg.QueryConfig {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < MAX_NAMED) this.names.set(text, (name = `tw_write_${this.names.size}`));
    return name === undefined ? { text, values } : { name, text, values };
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      let backoff = 50;
      while (this.jobs.length > 0 && !this.closed) {
        const job = this.jobs[0]!;
        let n: number;
        try {
          n = await this.run(job);
        } catch (err) {
          this.failed(err as Error);
          if (this.closed) return;
          this.stats.retries++;
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 1000);
          continue;
        }
        backoff = 50;
        this.jobs.shift();
        this.succeeded();
        if (job.kind === 'prune') job.done(n);
        else {
          this.stats.transactions++;
          this.stats.rows += n;
          job.done();
        }
      }
    } finally {
      this.running = false;
    }
  }

  private failed(err: Error): void {
    const client = this.client;
    this.client = undefined;
    void client?.end().catch(() => undefined);
    this.failingSince ??= performance.now();
    if (!this.down && performance.now() - this.failingSince >= (this.options.downAfterMs ?? 2000)) {
      this.down = true;
      this.options.onDown(new Error(`PostgreSQL unreachable: ${err.message}`));
    }
  }

  private succeeded(): void {
    this.failingSince = undefined;
    if (this.down) {
      this.down = false;
      this.options.onUp();
    }
  }

  /** While idle: a round trip, so that an outage (and the recovery) is noticed without writes. */
  private async ping(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      await (await this.connection()).query('SELECT 1');
      this.succeeded();
    } catch (err) {
      this.failed(err as Error);
    } finally {
      this.running = false;
      if (this.jobs.length > 0 && !this.closed) void this.drain();
    }
  }

  /** Waits (up to `graceMs`) for the jobs handed over, then disconnects. */
  async close(graceMs = 5000): Promise<void> {
    const until = performance.now() + graceMs;
    while (this.busy && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    clearInterval(this.pingTimer);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }
}
