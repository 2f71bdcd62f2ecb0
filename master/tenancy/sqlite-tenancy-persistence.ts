/**
 * Tenants, users and keys on disk: `tenancy.db` in the data dir (a file of
 * its own, 0600 in a 0700 dir, WAL). Admin changes are rare and small, so
 * they are written synchronously on the master's thread (one statement, one
 * implicit transaction): a key is on disk before its create call answers.
 * Schema version in `user_version`, as the task store does.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Scope } from '../http/auth/principal.js';
import type { ApiKeyRecord, TenantRecord, UserRecord } from './tenancy-records.js';
import type { TenancyPersistence, TenancySnapshot } from './tenancy-persistence.js';

export const TENANCY_SCHEMA_VERSION = 1;

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > TENANCY_SCHEMA_VERSION) {
    throw new Error(`tenancy.db was written by a newer taskwire (schema ${version}; this version reads up to ${TENANCY_SCHEMA_VERSION})`);
  }
  if (version === TENANCY_SCHEMA_VERSION) return;
  db.exec(`
    CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, name TEXT, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS users (tenant TEXT NOT NULL, id TEXT NOT NULL, name TEXT, created_at INTEGER NOT NULL, PRIMARY KEY (tenant, id));
    CREATE TABLE IF NOT EXISTS api_keys (
      id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT, name TEXT, scopes TEXT NOT NULL, kinds TEXT, models TEXT,
      hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, created_at INTEGER NOT NULL, rotated_at INTEGER, revoked_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `);
  db.pragma(`user_version = ${TENANCY_SCHEMA_VERSION}`);
}

type KeyRow = {
  id: string; tenant: string; user_id: string | null; name: string | null; scopes: string; kinds: string | null; models: string | null;
  hash: string; prefix: string; created_at: number; rotated_at: number | null; revoked_at: number | null;
};

const list = (json: string | null): string[] | null => (json === null ? null : (JSON.parse(json) as string[]));

export class SqliteTenancyPersistence implements TenancyPersistence {
  private readonly db: Database.Database;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fresh = !existsSync(path);
    this.db = new Database(path);
    if (fresh) chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
  }

  load(): TenancySnapshot {
    const tenants = this.db
      .prepare<[], { id: string; name: string | null; created_at: number }>('SELECT id, name, created_at FROM tenants ORDER BY created_at, id')
      .all()
      .map((r) => ({ id: r.id, name: r.name, createdAtMs: r.created_at }));
    const users = this.db
      .prepare<[], { tenant: string; id: string; name: string | null; created_at: number }>('SELECT tenant, id, name, created_at FROM users ORDER BY created_at, id')
      .all()
      .map((r) => ({ tenant: r.tenant, id: r.id, name: r.name, createdAtMs: r.created_at }));
    const keys = this.db
      .prepare<[], KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')
      .all()
      .map((r) => ({
        id: r.id, tenant: r.tenant, user: r.user_id, name: r.name, scopes: JSON.parse(r.scopes) as Scope[], kinds: list(r.kinds), models: list(r.models),
        hash: r.hash, prefix: r.prefix, createdAtMs: r.created_at, rotatedAtMs: r.rotated_at, revokedAtMs: r.revoked_at,
      }));
    return { tenants, users, keys };
  }

  putTenant(t: TenantRecord): void {
    this.db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name').run(t.id, t.name, t.createdAtMs);
  }

  putUser(u: UserRecord): void {
    this.db
      .prepare('INSERT INTO users (tenant, id, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(tenant, id) DO UPDATE SET name = excluded.name')
      .run(u.tenant, u.id, u.name, u.createdAtMs);
  }

  putKey(k: ApiKeyRecord): void {
    this.db
      .prepare(
        `INSERT INTO api_keys (id, tenant, user_id, name, scopes, kinds, models, hash, prefix, created_at, rotated_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET hash = excluded.hash, prefix = excluded.prefix, scopes = excluded.scopes, kinds = excluded.kinds,
           models = excluded.models, name = excluded.name, rotated_at = excluded.rotated_at, revoked_at = excluded.revoked_at`,
      )
      .run(
        k.id, k.tenant, k.user, k.name, JSON.stringify(k.scopes), k.kinds && JSON.stringify(k.kinds), k.models && JSON.stringify(k.models),
        k.hash, k.prefix, k.createdAtMs, k.rotatedAtMs, k.revokedAtMs,
      );
  }

  getMeta(key: string): string | undefined {
    return this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
