/**
 * A cluster setting kept as one JSON row in the task store's PostgreSQL
 * (`<table> (one, json, changed_at)`), so it is in force on every master on
 * the database: read at open, written through on a change, and read again
 * every 2 s (such changes are rare; no connection held for them), telling
 * the owner when another master changed it. A change resolves once
 * committed; one PostgreSQL refuses rejects (503) and changes nothing here.
 * Used for the admin's limit rules (limits/postgres-limiters.ts) and the
 * run-time placement settings (autoscaling/runtime-settings.ts).
 */
import type pg from 'pg';
import { SettingWrites } from './postgres-setting-writes.js';

const POLL_MS = 2000;

/** The schema step that makes a setting's table (the rooms' steps name it). */
export const settingRowTable = (table: string): string =>
  `CREATE TABLE ${table} (one boolean PRIMARY KEY DEFAULT true CHECK (one), json text NOT NULL, changed_at bigint NOT NULL)`;

export interface SettingRowOptions<T> {
  /** The table (made by the room's schema steps: `settingRowTable`). */
  table: string;
  /** What it holds, for errors (`the limit rules`). */
  what: string;
  /** The setting from its JSON; undefined for one this taskwire cannot read (a newer one wrote it): not in force here. */
  parse: (json: unknown) => T | undefined;
}

export class PostgresSettingRow<T> {
  private current: string | undefined;
  private listener: ((v: T | undefined) => void) | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly writes: SettingWrites;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly o: SettingRowOptions<T>,
  ) {
    this.writes = new SettingWrites(pool, o.what);
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  /** After the room's schema steps. */
  static async open<T>(pool: pg.Pool, o: SettingRowOptions<T>): Promise<PostgresSettingRow<T>> {
    const r = new PostgresSettingRow(pool, o);
    r.current = (await pool.query<{ json: string }>(`SELECT json FROM ${o.table}`)).rows[0]?.json;
    return r;
  }

  private parse(json: string | undefined): T | undefined {
    return json === undefined ? undefined : this.o.parse(JSON.parse(json));
  }

  load(): T | undefined {
    return this.parse(this.current);
  }

  /** `listener` is told when another master sets or removes the setting (undefined: removed or unreadable). */
  watch(listener: (v: T | undefined) => void): void {
    this.listener = listener;
  }

  async save(v: T): Promise<void> {
    const json = JSON.stringify(v);
    await this.writes.write(`INSERT INTO ${this.o.table} (one, json, changed_at) VALUES (true, $1, $2) ON CONFLICT (one) DO UPDATE SET json = excluded.json, changed_at = excluded.changed_at`, [json, Date.now()]);
    this.current = json;
  }

  async remove(): Promise<void> {
    await this.writes.write(`DELETE FROM ${this.o.table}`, []);
    this.current = undefined;
  }

  private async poll(): Promise<void> {
    try {
      const rows = await this.writes.read(async () => (await this.pool.query<{ json: string }>(`SELECT json FROM ${this.o.table}`)).rows);
      if (rows === undefined) return; // a change of ours overlapped: the next poll
      const json = rows[0]?.json;
      if (json === this.current) return;
      this.current = json;
      this.listener?.(this.parse(json));
    } catch {
      // PostgreSQL out of reach: the setting in force stays; the next poll tries again.
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
