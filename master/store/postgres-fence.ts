/**
 * The PostgreSQL writer's statements in multi-master mode: a new task is
 * inserted owned by this master (it runs it) or with no owner (it waits in
 * the shared pool for the master with a free worker: postgres-claims.ts);
 * every later write of a task is fenced in SQL: it lands only while this
 * master, in this incarnation (epoch), still owns the row, the row is not
 * final yet and its attempt is not newer than ours. A master whose lease ran
 * out (its tasks re-queued by the leader, claimed by another master) cannot
 * overwrite anything: its refused rows are reported (`onRefused`).
 */
import type { PgBatch } from './postgres-writer.js';
import { batchColumns, jsonColumns, rowsFrom } from './postgres-batch-params.js';

/** Who writes (multi-master mode only). */
export interface WriteFence {
  readonly owner: string;
  readonly epoch: number;
  /** Rows of an update the database refused (no longer ours, or already final). */
  onRefused(ids: string[]): void;
}

/** In multi-master mode the writer's connection holds the lock shared; a single master holds it alone. */
export class MultiMasterLockError extends Error {
  readonly code = 'STORE_LOCKED';
  constructor() {
    super('a single-master taskwire holds this database (TASKWIRE_MASTERS=multi needs every master of the database in multi mode)');
    this.name = 'MultiMasterLockError';
  }
}

/** The channel a new pooled task is announced on (LISTEN in postgres-claims.ts). */
export const POOL_CHANNEL = 'taskwire_pool';
/** The channel finals of claimed tasks are announced on (comma-separated ids; the submitting master's waiters). */
export const FINAL_CHANNEL = 'taskwire_final';
/** Ids per NOTIFY payload (a payload is at most 8000 bytes). */
const IDS_PER_NOTIFY = 100;

/** The insert's columns as parameters (the single master's, then `pooled`): record and state as JSON arrays (postgres-batch-params.ts). */
const INSERT_TYPES = ['text', 'bigint', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'int', 'text', 'bigint', 'json', 'json', 'text', 'text', 'text', 'int', 'text', 'bool'];
const INSERT = `INSERT INTO tasks (id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state, tenant, model, search, owner, owner_epoch, priority, features)
  SELECT id, seq, status, kind, sid, idem, created, fin, att, wid, asg, rec::text, nullif(st::text, 'null'), ten, mdl, to_tsvector('simple', txt),
    CASE WHEN pooled THEN NULL ELSE $ME::text END, CASE WHEN pooled THEN NULL ELSE $EPOCH::bigint END, prio, feat
  FROM ${rowsFrom(INSERT_TYPES)}
    AS u(id, seq, status, kind, sid, idem, created, fin, att, wid, asg, rec, st, ten, mdl, txt, prio, feat, pooled)
  ON CONFLICT DO NOTHING`;
const FENCE = 't.owner = $ME::text AND t.owner_epoch = $EPOCH::bigint AND t.finished_at IS NULL AND t.attempt <= u.attempt';
const UPDATE_TYPES = ['text', 'bigint', 'int', 'text', 'bigint', 'json', 'text', 'text'];
const UPDATE = `UPDATE tasks AS t SET status = u.status, finished_at = u.finished_at, attempt = u.attempt, worker_id = u.worker_id, assigned_at = u.assigned_at,
    state = nullif(u.state::text, 'null'), search = to_tsvector('simple', u.txt)
  FROM ${rowsFrom(UPDATE_TYPES)} AS u(status, finished_at, attempt, worker_id, assigned_at, state, id, txt)
  WHERE t.id = u.id AND ${FENCE} RETURNING t.id`;
const INSERT_JSON = jsonColumns(INSERT_TYPES);
const UPDATE_JSON = jsonColumns(UPDATE_TYPES);
const STATE = `UPDATE tasks AS t SET status = u.status, attempt = u.attempt, worker_id = u.worker_id, assigned_at = u.assigned_at
  FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::text[]) AS u(status, attempt, worker_id, assigned_at, id)
  WHERE t.id = u.id AND ${FENCE} RETURNING t.id`;
const META = `INSERT INTO meta (key, value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

/** One statement for a batch (data-modifying CTEs); `sent`: the ids of fenced updates, to compare with what came back. */
export function fencedStatements(b: PgBatch, fence: WriteFence): { sql: string; params: unknown[]; sent: string[] } {
  const parts: string[] = [];
  const params: unknown[] = [fence.owner, fence.epoch];
  const fenced: string[] = [];
  const add = (name: string, sql: string, rows: unknown[][], width: number, json?: ReadonlySet<number>) => {
    if (rows.length === 0) return;
    const base = params.length;
    params.push(...batchColumns(rows, width, json));
    // Renumber the part's own parameters after those before it, then the two shared ones ($1, $2).
    const text = sql
      .replace(/\$(\d+)/g, (_, n: string) => `$${base + Number(n)}`)
      .replace(/\$ME\b/g, '$1')
      .replace(/\$EPOCH\b/g, '$2');
    parts.push(`${name} AS (${text})`);
  };
  const extra = b.insertOwners ?? [];
  add('ins', INSERT, b.insert.map((r, i) => [...r, extra[i] ?? false]), 19, INSERT_JSON);
  add('upd', UPDATE, b.update, 8, UPDATE_JSON);
  add('sta', STATE, b.state, 5);
  add('met', META, b.meta, 2);
  if (b.update.length > 0) fenced.push('SELECT id FROM upd');
  if (b.state.length > 0) fenced.push('SELECT id FROM sta');
  const sent = [...b.update.map((r) => r[6] as string), ...b.state.map((r) => r[4] as string)];
  if (parts.length === 0) return { sql: '', params: [], sent: [] };
  const ids = fenced.length > 0 ? `(SELECT array_agg(id) FROM (${fenced.join(' UNION ALL ')}) f)` : 'NULL::text[]';
  let notify = extra.some((pooled) => pooled) ? `, pg_notify('${POOL_CHANNEL}', '')` : '';
  const finals = b.notifyFinals ?? [];
  for (let i = 0; i < finals.length; i += IDS_PER_NOTIFY) {
    params.push(finals.slice(i, i + IDS_PER_NOTIFY).join(','));
    notify += `, pg_notify('${FINAL_CHANNEL}', $${params.length}::text)`;
  }
  // $1 and $2 typed here too: a batch of meta only does not use them otherwise.
  return { sql: `WITH ${parts.join(', ')} SELECT ${ids} AS ids, $1::text AS owner, $2::bigint AS epoch${notify}`, params, sent };
}
