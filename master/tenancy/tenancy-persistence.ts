/**
 * Where the key store keeps tenants, users and keys: memory (no data dir:
 * nothing survives a restart), SQLite (sqlite-tenancy-persistence.ts) or
 * PostgreSQL (postgres-key-store.ts: shared by every master on the database).
 * The key store holds everything in memory and writes through this port.
 */
import type { ApiKeyRecord, TenantRecord, UserRecord } from './tenancy-records.js';

export interface TenancySnapshot {
  tenants: TenantRecord[];
  users: UserRecord[];
  keys: ApiKeyRecord[];
}

/** A row another master wrote (a shared persistence tells the key store). */
export type TenancyChange = { tenant: TenantRecord } | { user: UserRecord } | { key: ApiKeyRecord };

export interface TenancyPersistence {
  load(): TenancySnapshot;
  /** Resolves once every write handed over is kept, or rejects with why not (SQLite and memory: at once). */
  flushed?(): Promise<void>;
  /** A shared persistence: `listener` is told of every row other masters write. */
  watch?(listener: (change: TenancyChange) => void): void;
  putTenant(t: TenantRecord): void;
  putUser(u: UserRecord): void;
  putKey(k: ApiKeyRecord): void;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  close(): void;
}

export class MemoryTenancyPersistence implements TenancyPersistence {
  private readonly meta = new Map<string, string>();
  load(): TenancySnapshot {
    return { tenants: [], users: [], keys: [] };
  }
  putTenant(): void {}
  putUser(): void {}
  putKey(): void {}
  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }
  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
  }
  close(): void {}
}
