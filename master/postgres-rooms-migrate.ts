/**
 * `taskwire store migrate`, the rooms' part: besides the task store, copies
 * the data dir's room files into the rooms' PostgreSQL tables (master/postgres-rooms.ts),
 * inside the task copy's transaction (all or nothing), each row upserted by
 * its key so a repeated run is idempotent:
 *   tenancy.db   tenants, users, keys (hashes only), meta    -> tw_tenants, tw_users, tw_api_keys, tw_tenancy_meta
 *   usage.db     usage rows, prices, settings (budgets)      -> tw_usage (never changed: new rows only), tw_prices, tw_billing_settings
 *   events.db    events with their ids (the sequence moves past them, so ids continue and Last-Event-ID resumes)
 *   limits.db    counters of windows not yet over            -> taskwire_rate_limits
 *   limits.json  the rules an admin set over REST              -> tw_limit_rules
 *   tenant-limits.json, tenant-budgets.json  tenant admins' own  -> tw_tenant_settings
 *   runtime-settings.json  its placement part (strategies, slow start) -> tw_placement_settings
 *   blobs/       bytes, content types, tenant grants, recorded outputs -> tw_blobs, tw_blob_chunks, tw_blob_grants, tw_blob_derived
 *                (blobs/blob-files-migrate.ts; a grant names its tenant by a digest, matched against
 *                the data dir's tenants: tenancy.db's, and those of its tasks and batches)
 *   batches.db   image batches with their items, no holder    -> taskwire_batches, taskwire_batch_items
 *                (batches/batch-files-migrate.ts; a batch already there is kept as it is)
 * (the usage rows copied are added to tw_budget_spend by its trigger)
 * A file that is missing is skipped (that room had nothing on disk).
 * logs.db is not copied (the central logs start empty on PostgreSQL).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { PLACEMENT_PG_STEPS } from './autoscaling/postgres-placement-settings.js';
import { type BatchCopyCounts, copyBatchFile } from './batches/batch-files-migrate.js';
import { createBatchTables } from './batches/postgres-batch-store.js';
import { type BlobCopyCounts, copyBlobFiles } from './blobs/blob-files-migrate.js';
import { BLOBS_PG_STEPS } from './blobs/postgres-blob-store.js';
import { readPlacementFile } from './autoscaling/runtime-settings.js';
import { BILLING_PG_STEPS } from './billing/postgres-usage-store.js';
import { DEFAULT_TENANT } from './core/task-record.js';
import { COLUMNS as USAGE_COLUMNS } from './billing/usage-store.js';
import { EVENTS_PG_STEPS } from './events/postgres-event-outbox.js';
import { BUDGET_SPEND_PG_STEPS } from './billing/postgres-budget-spend.js';
import { LimitsFile } from './limits/limits-file.js';
import { TENANT_SETTINGS_PG_STEPS } from './limits/postgres-tenant-settings.js';
import { FileTenantSettings } from './limits/tenant-settings.js';
import { LIMITS_PG_STEPS, LIMITS_TABLE } from './limits/postgres-limiters.js';
import { LOGS_PG_STEPS } from './logs/postgres-log-store.js';
import { migrateRoom } from './store/postgres-room-schema.js';
import { TENANCY_PG_STEPS } from './tenancy/postgres-key-store.js';

/** Rows copied per room file (absent: no such file in the data dir); the blobs' counts with a `blobs` dir, the batches' with a `batches.db`. */
export type RoomCopyCounts = Partial<Record<'tenants' | 'users' | 'keys' | 'usage_rows' | 'prices' | 'events' | 'limit_counters' | 'limit_rules' | 'tenant_settings' | 'placement_settings', number> & BlobCopyCounts & BatchCopyCounts>;

/** Creates (or brings up to date) every room's tables on the target: before the copy's transaction. */
export async function prepareRoomTables(client: pg.ClientBase): Promise<void> {
  await migrateRoom(client, 'events', EVENTS_PG_STEPS);
  await migrateRoom(client, 'logs', LOGS_PG_STEPS);
  await migrateRoom(client, 'limits', LIMITS_PG_STEPS);
  await migrateRoom(client, 'billing', BILLING_PG_STEPS);
  await migrateRoom(client, 'tenancy', TENANCY_PG_STEPS);
  await migrateRoom(client, 'budget_spend', BUDGET_SPEND_PG_STEPS); // after billing: a trigger on its ledger
  await migrateRoom(client, 'tenant_settings', TENANT_SETTINGS_PG_STEPS);
  await migrateRoom(client, 'placement', PLACEMENT_PG_STEPS);
  await migrateRoom(client, 'blobs', BLOBS_PG_STEPS);
  await createBatchTables(client); // the batch store's own schema (IF NOT EXISTS), as a master opening it runs
}

/** The data dir a --from names (a dir, or the dir of its taskwire.db). */
function dataDirOf(from: string): string {
  return statSync(from).isDirectory() ? from : dirname(from);
}

function open(dir: string, file: string): Database.Database | undefined {
  const path = join(dir, file);
  if (!existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

const hasTable = (db: Database.Database, name: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

/**
 * Every tenant the data dir knows: `default`, tenancy.db's, and those its
 * tasks and batches were submitted under (a tenant's grants of blobs are
 * filed under a digest of its name, so only a name known here finds them).
 */
function tenantsOf(dir: string): Set<string> {
  const out = new Set([DEFAULT_TENANT]);
  for (const [file, table, sql] of [
    ['tenancy.db', 'tenants', 'SELECT id AS t FROM tenants'],
    ['taskwire.db', 'tasks', 'SELECT DISTINCT tenant AS t FROM tasks'], // an indexed column (sqlite-schema.ts; migrateStore brought the file up to date)
    ['batches.db', 'batches', 'SELECT DISTINCT tenant AS t FROM batches'],
  ] as const) {
    const db = open(dir, file);
    if (!db) continue;
    try {
      if (hasTable(db, table)) for (const r of db.prepare(sql).all() as { t: string }[]) out.add(r.t);
    } finally {
      db.close();
    }
  }
  return out;
}

/** Column arrays of rows (unnest parameters). */
const cols = <T extends Record<string, unknown>>(rows: T[], names: readonly (keyof T)[]): unknown[][] => names.map((n) => rows.map((r) => r[n] ?? null));

async function copy<T extends Record<string, unknown>>(client: pg.ClientBase, rows: T[], names: readonly (keyof T & string)[], types: readonly string[], into: string, conflict: string, batch = 500): Promise<number> {
  const sql = `INSERT INTO ${into} (${names.join(', ')}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) ${conflict}`;
  for (let i = 0; i < rows.length; i += batch) await client.query(sql, cols(rows.slice(i, i + batch), names));
  return rows.length;
}

/** Copies the room files of the data dir `from` names; run inside the caller's transaction. */
export async function copyRoomTables(client: pg.ClientBase, from: string, nowMs = Date.now()): Promise<RoomCopyCounts> {
  const dir = dataDirOf(from);
  const out: RoomCopyCounts = {};
  const tenancy = open(dir, 'tenancy.db');
  if (tenancy) {
    try {
      type T = Record<string, unknown>;
      out.tenants = await copy(client, tenancy.prepare('SELECT id, name, created_at FROM tenants').all() as T[], ['id', 'name', 'created_at'], ['text', 'text', 'bigint'], 'tw_tenants', 'ON CONFLICT (id) DO UPDATE SET name = excluded.name');
      out.users = await copy(client, tenancy.prepare('SELECT tenant, id, name, created_at FROM users').all() as T[], ['tenant', 'id', 'name', 'created_at'], ['text', 'text', 'text', 'bigint'], 'tw_users', 'ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name');
      const keyCols = ['id', 'tenant', 'user_id', 'name', 'scopes', 'kinds', 'models', 'hash', 'prefix', 'created_at', 'rotated_at', 'revoked_at'] as const;
      out.keys = await copy(client, tenancy.prepare(`SELECT ${keyCols.join(', ')} FROM api_keys`).all() as T[], keyCols, ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'bigint'], 'tw_api_keys',
        `ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, prefix = excluded.prefix, scopes = excluded.scopes, kinds = excluded.kinds, models = excluded.models, name = excluded.name, rotated_at = excluded.rotated_at, revoked_at = excluded.revoked_at`);
      await copy(client, tenancy.prepare('SELECT key, value FROM meta').all() as T[], ['key', 'value'], ['text', 'text'], 'tw_tenancy_meta', 'ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    } finally {
      tenancy.close();
    }
  }
  const usage = open(dir, 'usage.db');
  if (usage) {
    try {
      type T = Record<string, unknown>;
      const types: Record<string, string> = { attempt: 'int', images: 'int', price_version: 'int', megapixels: 'float8', cost: 'float8', tokens_in: 'bigint', tokens_out: 'bigint', processing_ms: 'bigint', cpu_us: 'bigint', mem_mib_ms: 'bigint', bytes_in: 'bigint', bytes_out: 'bigint', at_ms: 'bigint' };
      // A usage.db from before a column (opened read-only, not migrated): its rows have 0 there.
      const has = new Set((usage.prepare('PRAGMA table_info(usage)').all() as { name: string }[]).map((c) => c.name));
      const select = USAGE_COLUMNS.map((c) => (has.has(c) ? c : `0 AS ${c}`)).join(', ');
      out.usage_rows = await copy(client, usage.prepare(`SELECT ${select} FROM usage`).all() as T[], USAGE_COLUMNS, USAGE_COLUMNS.map((c) => types[c] ?? 'text'), 'tw_usage', 'ON CONFLICT (task_id, attempt) DO NOTHING');
      out.prices = await copy(client, usage.prepare('SELECT version, effective_from_ms, json FROM prices').all() as T[], ['version', 'effective_from_ms', 'json'], ['int', 'bigint', 'text'], 'tw_prices', 'ON CONFLICT (version) DO NOTHING');
      await copy(client, usage.prepare('SELECT name, json FROM settings').all() as T[], ['name', 'json'], ['text', 'text'], 'tw_billing_settings', 'ON CONFLICT (name) DO UPDATE SET json = excluded.json');
    } finally {
      usage.close();
    }
  }
  const events = open(dir, 'events.db');
  if (events) {
    try {
      const rows = (events.prepare('SELECT id, ts, type, task_id, worker_id, kind, json FROM events ORDER BY id').all() as Record<string, unknown>[]).map(
        (r): Record<string, unknown> => {
          const e = JSON.parse(r.json as string) as { tenant?: string; owner?: string | null };
          return { ...r, tenant: e.tenant ?? 'default', owner: e.owner ?? null }; // owner: a user key's stream finds its own (events of schema 1 have none)
        },
      );
      out.events = await copy(client, rows, ['id', 'ts', 'type', 'task_id', 'worker_id', 'kind', 'tenant', 'owner', 'json'], ['bigint', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text'], 'tw_events', 'ON CONFLICT (id) DO NOTHING');
      // The sequence past every id: the next event (on any master) gets a higher id than the copied ones.
      await client.query("SELECT setval(pg_get_serial_sequence('tw_events', 'id'), greatest((SELECT coalesce(max(id), 0) FROM tw_events), 1), (SELECT count(*) > 0 FROM tw_events))");
    } finally {
      events.close();
    }
  }
  const limits = open(dir, 'limits.db');
  if (limits) {
    try {
      if (hasTable(limits, 'rate_limits')) {
        const rows = limits.prepare('SELECT key, points, expire FROM rate_limits WHERE expire IS NULL OR expire > ?').all(nowMs) as Record<string, unknown>[];
        out.limit_counters = await copy(client, rows, ['key', 'points', 'expire'], ['text', 'int', 'bigint'], LIMITS_TABLE, 'ON CONFLICT (key) DO UPDATE SET points = excluded.points, expire = excluded.expire');
      }
    } finally {
      limits.close();
    }
  }
  const rules = join(dir, 'limits.json');
  if (existsSync(rules)) {
    // An admin's rules (checked as the master would at start: a damaged file stops the copy, naming it).
    const c = new LimitsFile(rules).load();
    if (c) {
      await client.query('INSERT INTO tw_limit_rules (one, json, changed_at) VALUES (true, $1, $2) ON CONFLICT (one) DO UPDATE SET json = excluded.json, changed_at = excluded.changed_at', [JSON.stringify(c), nowMs]);
      out.limit_rules = 1;
    }
  }
  for (const room of ['limits', 'budgets'] as const) {
    const file = join(dir, `tenant-${room}.json`);
    if (!existsSync(file)) continue;
    const rows = [...new FileTenantSettings(file).load()].map(([tenant, v]) => ({ room, tenant, json: JSON.stringify(v), changed_at: nowMs }));
    out.tenant_settings = (out.tenant_settings ?? 0) + (await copy(client, rows, ['room', 'tenant', 'json', 'changed_at'], ['text', 'text', 'text', 'bigint'], 'tw_tenant_settings', 'ON CONFLICT (room, tenant) DO UPDATE SET json = excluded.json, changed_at = excluded.changed_at'));
  }
  const placement = readPlacementFile(dir); // its autoscaling part stays a master's own (runtime-settings.ts)
  if (placement) {
    await client.query('INSERT INTO tw_placement_settings (one, json, changed_at) VALUES (true, $1, $2) ON CONFLICT (one) DO UPDATE SET json = excluded.json, changed_at = excluded.changed_at', [JSON.stringify(placement), nowMs]);
    out.placement_settings = 1;
  }
  const blobs = await copyBlobFiles(client, join(dir, 'blobs'), tenantsOf(dir));
  if (blobs) Object.assign(out, blobs);
  const batches = await copyBatchFile(client, join(dir, 'batches.db'));
  if (batches) Object.assign(out, batches);
  return out;
}
