/**
 * The tenancy room, as the master wires it: the key store (PostgreSQL when
 * the task store is, shared by every master on the database; else SQLite
 * `tenancy.db` in the data dir, memory without one), the bootstrap admin key,
 * and the Authenticator's resolver for stored keys.
 */
import { join } from 'node:path';
import type { Clock } from '../../common/clock.js';
import { parseApiKey, type Authenticator } from '../http/auth/principal.js';
import { bootstrapAdmin, type BootstrapOutcome } from './bootstrap-admin.js';
import { KeyStore } from './key-store.js';
import { MemoryTenancyPersistence, type TenancyPersistence } from './tenancy-persistence.js';
import { SqliteTenancyPersistence } from './sqlite-tenancy-persistence.js';

export interface TenancyOptions {
  dataDir?: string;
  adminKey?: string;
  apiKeys: readonly string[];
  clock: Clock;
  print?: (text: string) => void;
  /** Opened elsewhere (postgres-key-store.ts, on the task store's PostgreSQL): wins over dataDir. */
  persistence?: TenancyPersistence;
}

export function openTenancy(o: TenancyOptions, auth: Authenticator): { keys: KeyStore; bootstrap: BootstrapOutcome } {
  const persistence = o.persistence ?? (o.dataDir ? new SqliteTenancyPersistence(join(o.dataDir, 'tenancy.db')) : new MemoryTenancyPersistence());
  const keys = new KeyStore(persistence, o.clock);
  const bootstrap = bootstrapAdmin(keys, {
    adminKey: o.adminKey,
    keysConfigured: o.apiKeys.length > 0,
    configuredAdmin: o.apiKeys.some((k) => parseApiKey(k).role === 'admin'),
    print: o.print,
  });
  auth.use(keys);
  keys.on('invalidated', (id) => auth.invalidate(id));
  return { keys, bootstrap };
}
