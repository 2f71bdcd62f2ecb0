/**
 * Limit counters on PostgreSQL (the task store's database, TASKWIRE_STORE=postgres://…):
 * rate-limiter-flexible's RateLimiterPostgres on one table, so every master
 * on the database counts against the same windows (an upsert per consume,
 * atomic in PostgreSQL: a limit counted across masters admits exactly the
 * limit). The table is created by the limits room's schema steps (versioned
 * in taskwire_room_schema) rather than by the library; expired rows are
 * cleared hourly. The rules an admin sets over REST are kept there too
 * (`tw_limit_rules`, one row: store/postgres-setting-row.ts), in force on
 * every master: read every 2 s, a change answered once committed.
 */
import type pg from 'pg';
import { RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { PostgresSettingRow } from '../store/postgres-setting-row.js';
import type { LimiterBackend } from './limiter-store.js';
import { type LimitsConfig, limitsConfig } from './limit-rules.js';

export const LIMITS_TABLE = 'taskwire_rate_limits';

/** Step n makes version n of the limits room's tables. Append only. */
export const LIMITS_PG_STEPS: readonly string[] = [
  // 1: rate-limiter-flexible's own layout (RateLimiterPostgres._getCreateTableStmt).
  `CREATE TABLE IF NOT EXISTS ${LIMITS_TABLE} (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`,
  // 2: the rules an admin set over REST (limits.json of a master on SQLite), one row.
  `CREATE TABLE tw_limit_rules (one boolean PRIMARY KEY DEFAULT true CHECK (one), json text NOT NULL, changed_at bigint NOT NULL)`,
];

const CLEAR_EVERY_MS = 3600_000;

export async function openPostgresLimiters(pool: pg.Pool): Promise<LimiterBackend> {
  await migrateRoom(pool, 'limits', LIMITS_PG_STEPS);
  const timer = setInterval(() => void pool.query(`DELETE FROM ${LIMITS_TABLE} WHERE expire < $1`, [Date.now() - CLEAR_EVERY_MS]).catch(() => undefined), CLEAR_EVERY_MS);
  timer.unref();
  const rules = await PostgresSettingRow.open<LimitsConfig>(pool, {
    table: 'tw_limit_rules',
    what: 'the limit rules',
    parse: (json) => {
      const p = limitsConfig.safeParse(json);
      return p.success ? p.data : undefined; // rules a newer taskwire wrote: not in force here
    },
  });
  return {
    kind: 'postgres',
    rules,
    make: (opts): RateLimiterAbstract =>
      new RateLimiterPostgres({ ...opts, storeClient: pool, storeType: 'pool', tableName: LIMITS_TABLE, tableCreated: true, clearExpiredByTimeout: false }),
    close: () => (clearInterval(timer), rules.close()),
  };
}
