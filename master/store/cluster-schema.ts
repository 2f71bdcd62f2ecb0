/**
 * The tables and columns of multi-master mode (TASKWIRE_MASTERS=multi), on
 * top of the versioned task schema (postgres-schema.ts): created with
 * IF NOT EXISTS under the migration lock, so the versioned steps of other
 * tables stay free and a single-master database gains nothing it uses.
 *
 * - `tasks.owner` / `tasks.owner_epoch`: the master (and its incarnation)
 *   that holds a task; NULL while it waits in the shared pool.
 * - `tasks.priority`: the pool's order. Since store schema 3 the column is
 *   the store's own (postgres-schema.ts, migrated before this runs), so its
 *   line is a no-op there (it is how multi-master databases of schema 2 got
 *   the column).
 * - `taskwire_masters`: one row per live master, its lease (`lease_until`,
 *   renewed by its heartbeat) and its epoch (new every start).
 * - `taskwire_leader`: one row, the master that runs cluster-wide duties,
 *   with its lease and a term that grows with every change of leader.
 */
import type pg from 'pg';
import { inLockedTransaction } from './postgres-locked.js';

const CLUSTER_LOCK = 0x7461736b; // the migration lock of postgres-schema.ts

const DDL = `
  ALTER TABLE tasks ADD COLUMN IF NOT EXISTS owner text;
  ALTER TABLE tasks ADD COLUMN IF NOT EXISTS owner_epoch bigint;
  ALTER TABLE tasks ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0;
  CREATE INDEX IF NOT EXISTS tasks_pool ON tasks (kind, priority DESC, created_at, seq) WHERE owner IS NULL AND finished_at IS NULL;
  CREATE INDEX IF NOT EXISTS tasks_owner ON tasks (owner) WHERE owner IS NOT NULL AND finished_at IS NULL;
  CREATE SEQUENCE IF NOT EXISTS taskwire_epochs;
  CREATE TABLE IF NOT EXISTS taskwire_masters (
    id text PRIMARY KEY,
    epoch bigint NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz NOT NULL
  );
  CREATE TABLE IF NOT EXISTS taskwire_leader (
    one integer PRIMARY KEY DEFAULT 1 CHECK (one = 1),
    master_id text NOT NULL,
    epoch bigint NOT NULL,
    term bigint NOT NULL,
    lease_until timestamptz NOT NULL
  );
`;

/** Creates what multi-master mode needs (idempotent; masters starting at once create it once). */
export async function ensureClusterSchema(client: pg.ClientBase): Promise<void> {
  await inLockedTransaction(client, CLUSTER_LOCK, () => client.query(DDL));
}
