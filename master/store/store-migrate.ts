/**
 * `taskwire store migrate`: copies a master's SQLite store (its data dir's
 * taskwire.db) into a PostgreSQL database, so a master started on that
 * database carries on where the SQLite master stopped: every task row
 * (unfinished ones are restored and run, finished ones are served by id and
 * by idempotency key) and every meta pair (the result-token key, so result
 * tokens already handed to workers still verify, and the cluster token, so
 * workers still join). The rows are copied as they are: both stores share
 * one row layout (sqlite-rows.ts).
 *
 * Safe to repeat: one transaction (all or nothing), rows upserted by id. It
 * refuses a target that holds another cluster's data (tasks or meta of its
 * own) unless `force`; a target that already holds this cluster (the same
 * result-token key: a previous run) is brought up to date. The target's
 * one-master lock is held while copying: a master running on it refuses to
 * start, and a running one makes the copy refuse. Secrets are never printed:
 * the result names meta keys only.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { TaskwireError } from '../../common/errors.js';
import { migratePostgres } from './postgres-schema.js';
import { redactPostgresUrl } from './postgres-task-store.js';
import { isPostgresUrl } from './postgres-url.js';
import { MASTER_LOCK, pgClientConfig } from './postgres-writer.js';
import { migrate as migrateSqlite } from './sqlite-schema.js';
import { ROW, type Row } from './sqlite-rows.js';

export interface StoreMigrateOptions {
  /** A data dir (its taskwire.db) or a SQLite file. */
  from: string;
  /** postgres:// or postgresql:// URL of an existing database. */
  to: string;
  /** Copy into a target holding another cluster's tasks or meta (rows with the same id are overwritten). */
  force?: boolean;
  /** Rows per INSERT statement (default 500). */
  batchRows?: number;
  /**
   * The rooms' tables too (master/postgres-rooms-migrate.ts: keys, usage,
   * events, limit counters from the data dir's room files): `prepare` before
   * the copy's transaction, `copy` inside it.
   */
  rooms?: {
    prepare(client: pg.ClientBase): Promise<void>;
    copy(client: pg.ClientBase, from: string): Promise<Record<string, number | undefined>>;
  };
}

export interface StoreMigrateResult {
  /** The SQLite file read. */
  source: string;
  /** The target, password redacted. */
  target: string;
  tasks: number;
  unfinished: number;
  finished: number;
  withIdempotencyKey: number;
  /** Meta keys copied (names only). */
  metaKeys: string[];
  /** Tasks the target held before (0 on a fresh database). */
  targetTasksBefore: number;
  /** The target already held this cluster (a repeated run). */
  repeated: boolean;
  /** Rows copied per room table (with `rooms`). */
  rooms?: Record<string, number | undefined>;
}

export const STORE_MIGRATE_DEFAULTS = { batchRows: 500 } as const;

/** The target holds another cluster's data: refused without --force. */
export class TargetNotEmptyError extends TaskwireError {
  constructor(target: string, tasks: number, metaKeys: number) {
    super('CONFLICT', `${target} already holds another cluster's data (${tasks} task(s), ${metaKeys} meta key(s)): use --force to copy into it anyway`);
    this.name = 'TargetNotEmptyError';
  }
}

/** The SQLite file a --from names: a file, or a data dir's taskwire.db. */
export function resolveSqliteSource(from: string): string {
  if (!existsSync(from)) throw new TaskwireError('NOT_FOUND', `--from ${from}: no such file or directory`);
  const file = statSync(from).isDirectory() ? join(from, 'taskwire.db') : from;
  if (!existsSync(file)) throw new TaskwireError('NOT_FOUND', `--from ${from}: no taskwire.db in this directory (is it a master's data dir? A master already on PostgreSQL keeps none: --blobs-only copies its blobs)`);
  return file;
}

const UPSERT = `INSERT INTO tasks (id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::int[], $10::text[], $11::bigint[], $12::text[], $13::text[])
  ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, status = excluded.status, kind = excluded.kind, session_id = excluded.session_id,
    idempotency_key = excluded.idempotency_key, created_at = excluded.created_at, finished_at = excluded.finished_at, attempt = excluded.attempt,
    worker_id = excluded.worker_id, assigned_at = excluded.assigned_at, record = excluded.record, state = excluded.state`;
const META = `INSERT INTO meta (key, value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
/** Meta the SQLite store keeps about its own files (its search index): not the cluster's, not copied. */
const SQLITE_ONLY_META = new Set(['search_schema']);
/** Schema markers a master writes on a database it opened (postgres-task-search.ts): not another cluster's data. */
const SCHEMA_ONLY_META = new Set(['pg_search_schema']);
const COLUMNS = ['id', 'seq', 'status', 'kind', 'session_id', 'idempotency_key', 'created_at', 'finished_at', 'attempt', 'worker_id', 'assigned_at', 'record', 'state'] as const;

function openSource(file: string): Database.Database {
  const db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  migrateSqlite(db); // what a master would do on start: an older data dir gets today's columns
  return db;
}

/** A client on the target holding its one-master lock (a running master makes it refuse); end() releases both. */
export async function connectTarget(url: string, where: string): Promise<pg.Client> {
  const client = new pg.Client({ ...pgClientConfig(url), application_name: 'taskwire-store-migrate', query_timeout: 300_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new TaskwireError('UNAVAILABLE', `PostgreSQL at ${where}: ${(err as Error).message}`);
  }
  const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [MASTER_LOCK]);
  if (!lock.rows[0]?.ok) {
    await client.end().catch(() => undefined);
    throw new TaskwireError('CONFLICT', `a taskwire master is running on ${where}: stop it before migrating into it`);
  }
  return client;
}

export async function migrateStore(options: StoreMigrateOptions): Promise<StoreMigrateResult> {
  if (!isPostgresUrl(options.to)) throw new TaskwireError('BAD_REQUEST', '--to must be a postgres:// or postgresql:// URL');
  const batchRows = options.batchRows ?? STORE_MIGRATE_DEFAULTS.batchRows;
  const source = resolveSqliteSource(options.from);
  const target = redactPostgresUrl(options.to);
  const db = openSource(source);
  let client: pg.Client | undefined;
  try {
    client = await connectTarget(options.to, target);
    await migratePostgres(client);
    await options.rooms?.prepare(client);
    // One snapshot of the source (a WAL read transaction), one transaction on the target.
    db.exec('BEGIN');
    const meta = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM meta ORDER BY key').all().filter((m) => !SQLITE_ONLY_META.has(m.key));
    const targetMeta = new Map((await client.query<{ key: string; value: string }>('SELECT key, value FROM meta')).rows.filter((r) => !SCHEMA_ONLY_META.has(r.key)).map((r) => [r.key, r.value]));
    const targetTasksBefore = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM tasks')).rows[0]?.n ?? 0);
    const sourceSecret = meta.find((m) => m.key === 'result_secret')?.value;
    const repeated = sourceSecret !== undefined && targetMeta.get('result_secret') === sourceSecret;
    if (!repeated && !options.force && (targetTasksBefore > 0 || targetMeta.size > 0)) throw new TargetNotEmptyError(target, targetTasksBefore, targetMeta.size);

    const result: StoreMigrateResult = { source, target, tasks: 0, unfinished: 0, finished: 0, withIdempotencyKey: 0, metaKeys: meta.map((m) => m.key), targetTasksBefore, repeated };
    await client.query('BEGIN');
    try {
      let batch: Row[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        await client!.query(UPSERT, COLUMNS.map((c) => batch.map((r) => r[c])));
        batch = [];
      };
      for (const r of db.prepare<[], Row>(`SELECT ${ROW} FROM tasks ORDER BY seq`).iterate()) {
        batch.push(r);
        result.tasks++;
        if (r.finished_at === null) result.unfinished++;
        else result.finished++;
        if (r.idempotency_key !== null) result.withIdempotencyKey++;
        if (batch.length >= batchRows) {
          // iterate() holds the statement open: copy the rows out before awaiting (better-sqlite3 is synchronous, the loop resumes after).
          await flush();
        }
      }
      await flush();
      if (meta.length > 0) await client.query(META, [meta.map((m) => m.key), meta.map((m) => m.value)]);
      if (options.rooms) result.rooms = await options.rooms.copy(client, options.from);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code === '23505') {
        throw new TaskwireError('CONFLICT', `${target} already holds a task with the same idempotency key as one being copied (another id): nothing was copied (${(err as Error).message})`);
      }
      throw err;
    }
    return result;
  } finally {
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
    await client?.end().catch(() => undefined);
  }
}
