/**
 * The limit rules an admin set over REST (PUT /api/v1/admin/limits), kept in
 * the task store's PostgreSQL (`tw_limit_rules`, one row) instead of a
 * master's `limits.json`, so they are in force on every master on the
 * database: read by `open()`, written through on a change, and read again
 * every 2 s (admin changes are rare; no connection held for them), telling
 * the limiter when another master's admin changed them.
 */
import type pg from 'pg';
import { type LimitsConfig, limitsConfig } from './limit-rules.js';
import type { LimitsKeeper } from './limits-file.js';

const POLL_MS = 2000;

export class PostgresLimitRules implements LimitsKeeper {
  private current: string | undefined;
  private listener: ((c: LimitsConfig | undefined) => void) | undefined;
  private readonly timer: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  /** Local changes so far: a poll that overlapped one does not undo it. */
  private changes = 0;

  private constructor(private readonly pool: pg.Pool) {
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  /** After the limits room's schema steps (postgres-limiters.ts). */
  static async open(pool: pg.Pool): Promise<PostgresLimitRules> {
    const r = new PostgresLimitRules(pool);
    r.current = (await pool.query<{ json: string }>('SELECT json FROM tw_limit_rules')).rows[0]?.json;
    return r;
  }

  private parse(json: string | undefined): LimitsConfig | undefined {
    if (json === undefined) return undefined;
    const p = limitsConfig.safeParse(JSON.parse(json));
    return p.success ? p.data : undefined; // rules a newer taskwire wrote: not in force here
  }

  load(): LimitsConfig | undefined {
    return this.parse(this.current);
  }

  watch(listener: (c: LimitsConfig | undefined) => void): void {
    this.listener = listener;
  }

  save(c: LimitsConfig): void {
    const json = JSON.stringify(c);
    this.current = json;
    this.changes++;
    this.write('INSERT INTO tw_limit_rules (one, json, changed_at) VALUES (true, $1, $2) ON CONFLICT (one) DO UPDATE SET json = excluded.json, changed_at = excluded.changed_at', [json, Date.now()]);
  }

  remove(): void {
    this.current = undefined;
    this.changes++;
    this.write('DELETE FROM tw_limit_rules', []);
  }

  private write(sql: string, args: unknown[]): void {
    this.chain = this.chain.then(() => this.pool.query(sql, args).then(() => undefined, () => undefined));
  }

  private async poll(): Promise<void> {
    try {
      await this.chain; // our own change first
      const before = this.changes;
      const json = (await this.pool.query<{ json: string }>('SELECT json FROM tw_limit_rules')).rows[0]?.json;
      if (json === this.current || this.changes !== before) return;
      this.current = json;
      this.listener?.(this.parse(json));
    } catch {
      // PostgreSQL out of reach: the rules in force stay; the next poll tries again.
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
