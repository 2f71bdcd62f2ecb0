/** The SQLite store's schema, its version and the upgrades from earlier layouts. */
import type Database from 'better-sqlite3';

/**
 * The schema's version, in SQLite's `user_version`. 0 is a data dir from
 * before versioning: the first store (no attempt/worker columns) or the one
 * with them but a single JSON column. Each step is idempotent. 3 adds the
 * task's tenant: a column generated from the fixed JSON (`default` for rows
 * written before it), indexed for tenant-scoped listings.
 */
export const SCHEMA_VERSION = 3;

export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`the data dir was written by a newer taskwire (store schema ${version}; this version reads up to ${SCHEMA_VERSION})`);
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS tasks (
      id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      status TEXT NOT NULL,
      kind TEXT NOT NULL,
      session_id TEXT,
      idempotency_key TEXT,
      created_at INTEGER NOT NULL,
      finished_at INTEGER,
      attempt INTEGER NOT NULL DEFAULT 0,
      worker_id TEXT,
      assigned_at INTEGER,
      record TEXT NOT NULL,
      state TEXT
    );
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `);
  if (version === SCHEMA_VERSION) return;
  const columns = new Set(db.prepare<[], { name: string }>('PRAGMA table_xinfo(tasks)').all().map((c) => c.name)); // xinfo: generated columns too
  db.transaction(() => {
    if (!columns.has('attempt')) {
      // The first store kept attempt and worker in the JSON only; the state columns now win on restore.
      db.exec(`
        ALTER TABLE tasks ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tasks ADD COLUMN worker_id TEXT;
        ALTER TABLE tasks ADD COLUMN assigned_at INTEGER;
        UPDATE tasks SET attempt = coalesce(json_extract(record, '$.attempt'), 0), worker_id = json_extract(record, '$.workerId'),
          assigned_at = json_extract(record, '$.assignedAtMs');
      `);
    }
    if (!columns.has('state')) db.exec('ALTER TABLE tasks ADD COLUMN state TEXT');
    if (!columns.has('tenant')) {
      db.exec(`ALTER TABLE tasks ADD COLUMN tenant TEXT GENERATED ALWAYS AS (coalesce(json_extract(record, '$.tenant'), 'default')) VIRTUAL`);
    }
    db.exec(`
      DROP INDEX IF EXISTS tasks_status_seq;
      DROP INDEX IF EXISTS tasks_open;
      CREATE INDEX tasks_open ON tasks(seq) WHERE finished_at IS NULL;
      CREATE INDEX IF NOT EXISTS tasks_session ON tasks(session_id, seq) WHERE session_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tasks_finished ON tasks(finished_at) WHERE finished_at IS NOT NULL;
      CREATE UNIQUE INDEX IF NOT EXISTS tasks_idem ON tasks(idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tasks_ended_badly ON tasks(status, seq) WHERE status IN ('failed', 'expired', 'cancelled');
      CREATE INDEX IF NOT EXISTS tasks_tenant ON tasks(tenant, seq);
    `);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
