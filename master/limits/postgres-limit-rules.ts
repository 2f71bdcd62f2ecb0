/**
 * The limit rules an admin set over REST (PUT /api/v1/admin/limits), kept in
 * the task store's PostgreSQL (`tw_limit_rules`, one row) instead of a
 * master's `limits.json`, so they are in force on every master on the
 * database: read by `open()`, written through on a change, and read again
 * every 2 s (admin changes are rare; no connection held for them), telling
 * the limiter when another master's admin changed them. A change resolves
 * once committed; one PostgreSQL refuses rejects (503) and changes nothing.
 */
import type pg from 'pg';
import { SettingWrites } from '../store/postgres-setting-writes.js';
import { type LimitsConfig, limitsConfig } from './limit-rules.js';
import type { LimitsKeeper } from './limits-file.js';

const POLL_MS = 2000;

export class PostgresLimitRules implements LimitsKeeper {
  private current: string | undefined;
  private listener: ((c: LimitsConfig | undefined) => void) | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly writes: SettingWrites;

  private constructor(private readonly pool: pg.Pool) {
    this.writes = new SettingWrites(pool, 'the limit rules');
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

  async save(c: LimitsConfig): Promise<void> {
    const json = JSON.stringify(c);
    await this.writes.write('INSERT INTO tw_limit_rules (one, json, changed_at) VALUES (true, $1, $2) ON CONFLICT (one) DO UPDATE SET json = excluded.json, changed_at = excluded.changed_at', [json, Date.now()]);
    this.current = json;
  }

  async remove(): Promise<void> {
    await this.writes.write('DELETE FROM tw_limit_rules', []);
    this.current = undefined;
  }

  private async poll(): Promise<void> {
    try {
      const rows = await this.writes.read(async () => (await this.pool.query<{ json: string }>('SELECT json FROM tw_limit_rules')).rows);
      if (rows === undefined) return; // a change of ours overlapped: the next poll
      const json = rows[0]?.json;
      if (json === this.current) return;
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
