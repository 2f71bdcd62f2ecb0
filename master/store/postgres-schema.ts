/**
 * The PostgreSQL store's schema, its version and the steps between versions.
 * The version lives in `taskwire_schema` (one row). Migrations run in one
 * transaction under an advisory lock, so masters starting at once on one
 * database migrate it once.
 */
import type pg from 'pg';
import type { Requirement } from '../../common/task-kinds.js';

/** The schema version this taskwire writes and reads. */
export const PG_SCHEMA_VERSION = 4;

/** Key of the advisory lock held while migrating (any constant of our own). */
const MIGRATION_LOCK = 0x7461736b; // "task"

/** The longest part of a task's input, and of its output, that its search words are taken from. */
export const SEARCH_TEXT_MAX = 65536;

/**
 * A finished task's search words from its row (`p` names the row: '' or 'NEW.'): its input, then
 * result and error, each cut to SEARCH_TEXT_MAX. The master sends the same text itself
 * (pgSearchText); this is for rows written before schema 2 and by a master older than it.
 */
const rowSearchWords = (p: string) => `to_tsvector('simple', substr(coalesce((${p}record::jsonb -> 'input') #>> '{}', ''), 1, ${SEARCH_TEXT_MAX}) || ' ' ||
  substr(coalesce((${p}state::jsonb -> 'result') #>> '{}', '') || ' ' || coalesce((${p}state::jsonb -> 'error') ->> 'code', '') || ' ' || coalesce((${p}state::jsonb -> 'error') ->> 'message', ''), 1, ${SEARCH_TEXT_MAX}))`;

/** A row's features column from its JSON (`p` names the row: '' or 'NEW.'): as featuresColumn() writes it, NULL for none. */
const rowFeatures = (p: string) =>
  `(SELECT nullif(string_agg(f, ',' ORDER BY ord), '') FROM jsonb_array_elements_text(${featuresArray(p)}) WITH ORDINALITY AS x(f, ord))`;
const featuresArray = (p: string) =>
  `(CASE WHEN jsonb_typeof((${p}record::jsonb -> 'requirement') -> 'features') = 'array' THEN (${p}record::jsonb -> 'requirement') -> 'features' ELSE '[]'::jsonb END)`;

/** Step n turns a version n-1 schema into version n. Append only. */
const STEPS: readonly string[] = [
  // 1: the task rows (same columns as the SQLite store) and the meta pairs.
  `
  CREATE TABLE tasks (
    id text PRIMARY KEY,
    seq bigint NOT NULL,
    status text NOT NULL,
    kind text NOT NULL,
    session_id text,
    idempotency_key text,
    created_at bigint NOT NULL,
    finished_at bigint,
    attempt integer NOT NULL DEFAULT 0,
    worker_id text,
    assigned_at bigint,
    record text NOT NULL,
    state text
  );
  CREATE INDEX tasks_open ON tasks (seq) WHERE finished_at IS NULL;
  CREATE INDEX tasks_session ON tasks (session_id, seq) WHERE session_id IS NOT NULL;
  CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
  CREATE UNIQUE INDEX tasks_idem ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX tasks_status_seq ON tasks (status, seq);
  CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
  `,
  // 2: tenant, model and the search words as columns of their own, written by the master. The
  // search indexes were expressions over record::jsonb and state::jsonb, and every task update is
  // a new row version (status is indexed), so each insert and update parsed the JSON again per
  // index: ~40 µs of database CPU per task. The trigger fills them only for a row that comes
  // without them (a master older than this schema, during a rolling update); its WHEN is checked
  // without calling it.
  `
  ALTER TABLE tasks ADD COLUMN tenant text, ADD COLUMN model text, ADD COLUMN search tsvector;
  UPDATE tasks SET tenant = coalesce(record::jsonb ->> 'tenant', 'default'), model = (record::jsonb -> 'requirement') ->> 'model',
    search = CASE WHEN finished_at IS NOT NULL THEN ${rowSearchWords('')} END;
  CREATE FUNCTION tw_tasks_fill_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.tenant IS NULL THEN
      NEW.tenant := coalesce(NEW.record::jsonb ->> 'tenant', 'default');
      NEW.model := (NEW.record::jsonb -> 'requirement') ->> 'model';
    END IF;
    IF NEW.finished_at IS NOT NULL AND NEW.search IS NULL THEN NEW.search := ${rowSearchWords('NEW.')}; END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER tw_tasks_fill_search_insert BEFORE INSERT ON tasks FOR EACH ROW
    WHEN (NEW.tenant IS NULL OR (NEW.finished_at IS NOT NULL AND NEW.search IS NULL)) EXECUTE FUNCTION tw_tasks_fill_search();
  CREATE TRIGGER tw_tasks_fill_search_update BEFORE UPDATE ON tasks FOR EACH ROW
    WHEN (NEW.finished_at IS NOT NULL AND NEW.search IS NULL) EXECUTE FUNCTION tw_tasks_fill_search();
  `,
  // 3: priority as a column of its own, written by the master with the row, so the search's priority
  // filter walks an index (postgres-task-search.ts) instead of reading the table; an expression index
  // would parse the record's JSON on every task write, the cost step 2 removed. Multi-master mode
  // (cluster-schema.ts) already adds an integer priority for its pool: IF NOT EXISTS keeps that one,
  // so the column is integer here too (one type whatever the database's history). The constant default
  // makes ADD COLUMN a catalog change (no rewrite); the backfill rewrites only the rows whose JSON says
  // other than 0. Then the default is dropped: a row written without the column (a master of schema 2
  // during a rolling update, `taskwire store migrate`'s copy of the schema 1 columns) comes with NULL,
  // and the insert trigger fills it from the JSON before NOT NULL is checked. The master itself always
  // sends it, so the trigger's WHEN stays false on the write path and the function is not called.
  `
  ALTER TABLE tasks ADD COLUMN IF NOT EXISTS priority integer NOT NULL DEFAULT 0;
  UPDATE tasks SET priority = coalesce((record::jsonb ->> 'priority')::int, 0) WHERE priority <> coalesce((record::jsonb ->> 'priority')::int, 0);
  ALTER TABLE tasks ALTER COLUMN priority DROP DEFAULT;
  CREATE OR REPLACE FUNCTION tw_tasks_fill_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.tenant IS NULL THEN
      NEW.tenant := coalesce(NEW.record::jsonb ->> 'tenant', 'default');
      NEW.model := (NEW.record::jsonb -> 'requirement') ->> 'model';
    END IF;
    IF NEW.priority IS NULL THEN NEW.priority := coalesce((NEW.record::jsonb ->> 'priority')::int, 0); END IF;
    IF NEW.finished_at IS NOT NULL AND NEW.search IS NULL THEN NEW.search := ${rowSearchWords('NEW.')}; END IF;
    RETURN NEW;
  END $$;
  DROP TRIGGER tw_tasks_fill_search_insert ON tasks;
  CREATE TRIGGER tw_tasks_fill_search_insert BEFORE INSERT ON tasks FOR EACH ROW
    WHEN (NEW.tenant IS NULL OR NEW.priority IS NULL OR (NEW.finished_at IS NOT NULL AND NEW.search IS NULL)) EXECUTE FUNCTION tw_tasks_fill_search();
  `,
  // 4: the features a task needs (its requirement's, sorted, joined by ',' as in its queue key; NULL
  // for none) as a column of their own, written by the master with the row: a multi-master claim
  // (postgres-claims.ts) leaves the pooled tasks of a requirement none of its free workers runs
  // by (kind, model, features), without parsing each candidate's JSON. A nullable column without a
  // default is a catalog change; the backfill rewrites only the rows whose requirement has
  // features. A row written without the column (`taskwire store migrate`'s schema 1 columns, which
  // come without a tenant too) is filled by the insert trigger under its NEW.tenant IS NULL branch:
  // NULL is a real value here (no features), so it cannot be the trigger's sign.
  `
  ALTER TABLE tasks ADD COLUMN features text;
  UPDATE tasks SET features = ${rowFeatures('')} WHERE jsonb_array_length(${featuresArray('')}) > 0;
  CREATE OR REPLACE FUNCTION tw_tasks_fill_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.tenant IS NULL THEN
      NEW.tenant := coalesce(NEW.record::jsonb ->> 'tenant', 'default');
      NEW.model := (NEW.record::jsonb -> 'requirement') ->> 'model';
      NEW.features := ${rowFeatures('NEW.')};
    END IF;
    IF NEW.priority IS NULL THEN NEW.priority := coalesce((NEW.record::jsonb ->> 'priority')::int, 0); END IF;
    IF NEW.finished_at IS NOT NULL AND NEW.search IS NULL THEN NEW.search := ${rowSearchWords('NEW.')}; END IF;
    RETURN NEW;
  END $$;
  `,
];

/** The features column of a task (schema 4): its requirement's features joined as in its queue key, or null for none. */
export function featuresColumn(r: Requirement): string | null {
  return r.features && r.features.length > 0 ? r.features.join(',') : null;
}

export class SchemaTooNewError extends Error {
  readonly code = 'STORE_SCHEMA_TOO_NEW';
  constructor(found: number) {
    super(`the database was written by a newer taskwire (store schema ${found}; this version reads up to ${PG_SCHEMA_VERSION})`);
    this.name = 'SchemaTooNewError';
  }
}

/** The schema version of the database (0 = no taskwire tables yet). */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('taskwire_schema')::text AS t`);
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ version: number }>('SELECT version FROM taskwire_schema');
  return r.rows[0]?.version ?? 0;
}

/** Brings the database to PG_SCHEMA_VERSION (refuses a newer one); returns the version found before. */
export async function migratePostgres(client: pg.ClientBase, target = PG_SCHEMA_VERSION): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS taskwire_schema (version integer NOT NULL)');
    const found = await schemaVersion(client);
    if (found > PG_SCHEMA_VERSION) throw new SchemaTooNewError(found);
    for (let v = found + 1; v <= target; v++) await client.query(STEPS[v - 1]!);
    if (found < target) {
      await client.query('DELETE FROM taskwire_schema');
      await client.query('INSERT INTO taskwire_schema (version) VALUES ($1)', [target]);
    }
    await client.query('COMMIT');
    return found;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
