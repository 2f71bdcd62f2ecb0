/**
 * The rooms' tables on PostgreSQL when the task store is (TASKWIRE_STORE=postgres://…):
 * the event outbox, the central logs, the limit counters, the usage ledger
 * with its prices and budgets, the key store, the run-time placement
 * settings and (several masters) the blobs, on the task store's
 * database (same URL, so the same password setting), through one pool.
 * Several masters on one database therefore share keys, limits, usage, one
 * event stream and one log. Each room keeps
 * its interface; its PostgreSQL implementation lives in the room. Opened
 * before the master is built (async: the schema steps and the first reads);
 * closed after the rooms, once their writes are done.
 */
import type pg from 'pg';
import { openPostgresPlacement } from './autoscaling/postgres-placement-settings.js';
import { PostgresBlobStore } from './blobs/postgres-blob-store.js';
import type { SharedPlacement } from './autoscaling/runtime-settings.js';
import { PostgresBudgetSpend } from './billing/postgres-budget-spend.js';
import { PostgresUsageStore } from './billing/postgres-usage-store.js';
import { PostgresEventOutbox } from './events/postgres-event-outbox.js';
import type { LimiterBackend } from './limits/limiter-store.js';
import { openPostgresLimiters } from './limits/postgres-limiters.js';
import { PostgresTenantSettings } from './limits/postgres-tenant-settings.js';
import { PostgresLogStore } from './logs/postgres-log-store.js';
import { openRoomPool } from './store/postgres-room-schema.js';
import type { PostgresSettingRow } from './store/postgres-setting-row.js';
import { PostgresKeyStorePersistence } from './tenancy/postgres-key-store.js';

export interface PostgresRooms {
  readonly events: PostgresEventOutbox;
  readonly logs: PostgresLogStore;
  readonly limits: LimiterBackend;
  readonly usage: PostgresUsageStore;
  readonly tenancy: PostgresKeyStorePersistence;
  /** Tenant admins' own limits and budgets, one row per tenant. */
  readonly tenantSettings: PostgresTenantSettings;
  /** Every master's spend per tenant and key, kept by PostgreSQL from the ledger: the hard budgets' check. */
  readonly budgetSpend: PostgresBudgetSpend;
  /** The placement settings an operator changed at run time, the same on every master. */
  readonly placement: PostgresSettingRow<SharedPlacement>;
  /** Blobs for several masters (TASKWIRE_MASTERS=multi): one store, read through any master. */
  readonly blobs: PostgresBlobStore;
  /** Waits for the rooms' pending writes, then ends the pool. */
  close(): Promise<void>;
}

export async function openPostgresRooms(url: string, o: { logMaxBytes?: number; blobMaxBytes?: number } = {}): Promise<PostgresRooms> {
  const pool: pg.Pool = openRoomPool(url);
  const opened: { close(): unknown }[] = [];
  try {
    const events = await PostgresEventOutbox.open(pool, url);
    opened.push(events);
    const logs = await PostgresLogStore.open(pool, url, { maxBytes: o.logMaxBytes ?? 256 * 1024 * 1024 });
    opened.push(logs);
    const limits = await openPostgresLimiters(pool);
    opened.push(limits);
    const usage = await PostgresUsageStore.open(pool);
    opened.push(usage);
    const budgetSpend = await PostgresBudgetSpend.open(pool);
    const tenantSettings = await PostgresTenantSettings.open(pool);
    opened.push(tenantSettings);
    const placement = await openPostgresPlacement(pool);
    opened.push(placement);
    const blobs = await PostgresBlobStore.open(pool, { maxBytes: o.blobMaxBytes });
    const tenancy = await PostgresKeyStorePersistence.open(pool, url);
    return {
      events,
      logs,
      limits,
      usage,
      tenancy,
      tenantSettings,
      budgetSpend,
      placement,
      blobs,
      close: async () => {
        await events.close().catch(() => undefined);
        await logs.close().catch(() => undefined);
        await usage.drain().catch(() => undefined);
        await tenancy.drain().catch(() => undefined);
        tenancy.close();
        limits.close();
        tenantSettings.close();
        placement.close();
        await pool.end().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const o of opened) await Promise.resolve(o.close()).catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw err;
  }
}
