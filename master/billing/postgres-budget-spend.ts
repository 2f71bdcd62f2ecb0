/**
 * The spend every hard budget is checked against when several masters share
 * one PostgreSQL (TASKWIRE_STORE=postgres://…): one counter per tenant and key
 * per UTC day and month in `tw_budget_spend`, kept by a statement trigger on
 * the usage ledger (`tw_usage`, postgres-usage-store.ts) in the transaction
 * that inserts the rows, so a counter is the ledger's total exactly, whichever
 * master wrote the rows (an idempotent re-insert adds nothing: ON CONFLICT DO
 * NOTHING leaves it out of the transition table). Rows written before the
 * counters existed are added once when the room is made (under a lock on the
 * ledger). Admission reads the counters it needs in one query per submit
 * (budgets.ts), so a master sees every master's spend as soon as it is
 * committed. A soft budget's warning is claimed in `tw_budget_warned` (one row per
 * spend key and threshold), so one master sends it. Schema versions in taskwire_room_schema (room `budget_spend`),
 * opened after the billing room.
 */
import type pg from 'pg';
import { migrateRoom } from '../store/postgres-room-schema.js';
import type { SharedSpend } from './budgets.js';

const utc = (fmt: string) => `to_char(to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC', '${fmt}')`;
/** The counters of a set of ledger rows, as budgets.ts names them (`tenant:acme|month|2026-12`). */
const counters = (rows: string) => `SELECT c, sum(cost) FROM (
    SELECT unnest(ARRAY[
      'tenant:' || tenant || '|day|' || ${utc('YYYY-MM-DD')}, 'tenant:' || tenant || '|month|' || ${utc('YYYY-MM')},
      'key:' || key || '|day|' || ${utc('YYYY-MM-DD')}, 'key:' || key || '|month|' || ${utc('YYYY-MM')}]) AS c, cost
    FROM ${rows} WHERE cost <> 0) s
  GROUP BY c ORDER BY c`;

/** Step n makes version n of the room's tables. Append only. */
export const BUDGET_SPEND_PG_STEPS: readonly string[] = [
  `
  CREATE TABLE tw_budget_spend (counter text PRIMARY KEY, spent double precision NOT NULL);
  CREATE FUNCTION tw_budget_spend_add() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO tw_budget_spend (counter, spent) ${counters('tw_usage_new')}
      ON CONFLICT (counter) DO UPDATE SET spent = tw_budget_spend.spent + excluded.spent;
    RETURN NULL;
  END $$;
  LOCK TABLE tw_usage IN SHARE ROW EXCLUSIVE MODE;
  INSERT INTO tw_budget_spend (counter, spent) ${counters('tw_usage')};
  CREATE TRIGGER tw_usage_budget_spend AFTER INSERT ON tw_usage REFERENCING NEW TABLE AS tw_usage_new
    FOR EACH STATEMENT EXECUTE FUNCTION tw_budget_spend_add();
  `,
  // 2: soft budgets' warnings, once per spend key and threshold over all masters.
  `CREATE TABLE tw_budget_warned (counter text NOT NULL, soft double precision NOT NULL, at_ms bigint NOT NULL, PRIMARY KEY (counter, soft))`,
];

export class PostgresBudgetSpend implements SharedSpend {
  private constructor(private readonly pool: pg.Pool) {}

  /** After the billing room (its ledger table carries the trigger). */
  static async open(pool: pg.Pool): Promise<PostgresBudgetSpend> {
    await migrateRoom(pool, 'budget_spend', BUDGET_SPEND_PG_STEPS);
    return new PostgresBudgetSpend(pool);
  }

  async spent(names: readonly string[]): Promise<Map<string, number>> {
    const rows = (await this.pool.query<{ counter: string; spent: number }>('SELECT counter, spent FROM tw_budget_spend WHERE counter = ANY($1::text[])', [names])).rows;
    return new Map(rows.map((r) => [r.counter, r.spent]));
  }

  async claimWarning(key: string, soft: number): Promise<boolean> {
    const r = await this.pool.query('INSERT INTO tw_budget_warned (counter, soft, at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING counter', [key, soft, Date.now()]);
    return (r.rowCount ?? 0) > 0;
  }
}
