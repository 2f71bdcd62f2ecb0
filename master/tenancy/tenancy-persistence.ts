/**
 * Where the key store keeps tenants, users and keys: memory (no data dir:
 * nothing survives a restart) or SQLite (sqlite-tenancy-persistence.ts).
 * The key store holds everything in memory and writes through this port.
 */
import type { ApiKeyRecord, TenantRecord, UserRecord } from './tenancy-records.js';

export interface TenancySnapshot {
  tenants: TenantRecord[];
  users: UserRecord[];
  keys: ApiKeyRecord[];
}

export interface TenancyPersistence {
  load(): TenancySnapshot;
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
