/**
 * Where a tenant admin's own settings are kept, one value per tenant, per
 * room (`limits`: its rules, `budgets`: its budgets), apart from the cluster
 * admin's: a cluster admin's PUT or DELETE of the cluster-wide rules never
 * touches them, and one tenant's change never rewrites another's.
 *
 *   MemoryTenantSettings   no data dir: until the master stops
 *   FileTenantSettings     `<data dir>/tenant-<room>.json` (0600, written whole then renamed)
 *   PostgresTenantSettings the task store's PostgreSQL (postgres-tenant-settings.ts): one
 *                          row per room and tenant, shared by every master on it
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../common/errors.js';

export interface TenantSettings {
  /** Every tenant's value. */
  load(): Map<string, unknown>;
  /** Sets (undefined: removes) one tenant's value; resolves once it is kept. */
  save(tenant: string, value: unknown): Promise<void>;
  /** Shared: `listener` hears another master's change of one tenant's value (undefined: removed). */
  watch?(listener: (tenant: string, value: unknown) => void): void;
}

export class MemoryTenantSettings implements TenantSettings {
  private readonly values = new Map<string, unknown>();

  load(): Map<string, unknown> {
    return new Map(this.values);
  }

  async save(tenant: string, value: unknown): Promise<void> {
    if (value === undefined) this.values.delete(tenant);
    else this.values.set(tenant, value);
  }
}

export class FileTenantSettings implements TenantSettings {
  private readonly values: Map<string, unknown>;

  constructor(readonly path: string) {
    this.values = new Map();
    if (!existsSync(path)) return;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(path, `not valid JSON (${(err as Error).message}); fix or delete it`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(path, 'expected an object of tenants; fix or delete it');
    for (const [t, v] of Object.entries(json)) this.values.set(t, v);
  }

  load(): Map<string, unknown> {
    return new Map(this.values);
  }

  async save(tenant: string, value: unknown): Promise<void> {
    if (value === undefined) this.values.delete(tenant);
    else this.values.set(tenant, value);
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(Object.fromEntries(this.values), null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
