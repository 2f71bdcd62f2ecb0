/**
 * Tenant admins' own settings (tenant-settings.ts) on the task store's
 * PostgreSQL: one row per room and tenant in `tw_tenant_settings`, so every
 * master on the database enforces them and one tenant's change never
 * rewrites another's. Read at open, written through (a save resolves once
 * committed), and read again every 2 s: another master's change is told to
 * the room's listener. Schema versions in taskwire_room_schema (room
 * `tenant_settings`).
 */
import type pg from 'pg';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { SettingWrites } from '../store/postgres-setting-writes.js';
import type { TenantSettings } from './tenant-settings.js';

/** Step n makes version n of the room's tables. Append only. */
export const TENANT_SETTINGS_PG_STEPS: readonly string[] = [
  `CREATE TABLE tw_tenant_settings (room text NOT NULL, tenant text NOT NULL, json text NOT NULL, changed_at bigint NOT NULL, PRIMARY KEY (room, tenant))`,
];

const POLL_MS = 2000;

type Row = { room: string; tenant: string; json: string };

export class PostgresTenantSettings {
  /** room → tenant → json as stored. */
  private readonly current = new Map<string, Map<string, string>>();
  private readonly listeners = new Map<string, (tenant: string, value: unknown) => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly writes: SettingWrites;

  private constructor(private readonly pool: pg.Pool) {
    this.writes = new SettingWrites(pool, "the tenant's settings");
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  static async open(pool: pg.Pool): Promise<PostgresTenantSettings> {
    await migrateRoom(pool, 'tenant_settings', TENANT_SETTINGS_PG_STEPS);
    const s = new PostgresTenantSettings(pool);
    for (const r of await s.read()) s.roomMap(r.room).set(r.tenant, r.json);
    return s;
  }

  private async read(): Promise<Row[]> {
    return (await this.pool.query<Row>('SELECT room, tenant, json FROM tw_tenant_settings')).rows;
  }

  private roomMap(room: string): Map<string, string> {
    let m = this.current.get(room);
    if (!m) this.current.set(room, (m = new Map()));
    return m;
  }

  /** The settings of one room (`limits`, `budgets`). */
  room(room: string): TenantSettings {
    return {
      load: () => new Map([...this.roomMap(room)].map(([t, json]) => [t, JSON.parse(json) as unknown])),
      save: (tenant, value) => this.save(room, tenant, value),
      watch: (listener) => void this.listeners.set(room, listener),
    };
  }

  /** Resolves once committed (then in force here); rejects with 503 and changes nothing when PostgreSQL refused it. */
  private async save(room: string, tenant: string, value: unknown): Promise<void> {
    const m = this.roomMap(room);
    if (value === undefined) {
      await this.writes.write('DELETE FROM tw_tenant_settings WHERE room = $1 AND tenant = $2', [room, tenant]);
      m.delete(tenant);
      return;
    }
    const json = JSON.stringify(value);
    await this.writes.write(
      'INSERT INTO tw_tenant_settings (room, tenant, json, changed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (room, tenant) DO UPDATE SET json = excluded.json, changed_at = excluded.changed_at',
      [room, tenant, json, Date.now()],
    );
    m.set(tenant, json);
  }

  private async poll(): Promise<void> {
    try {
      const rows = await this.writes.read(() => this.read());
      if (rows === undefined) return; // a change of ours overlapped: the next poll
      const seen = new Map<string, Map<string, string>>();
      for (const r of rows) {
        if (!seen.has(r.room)) seen.set(r.room, new Map());
        seen.get(r.room)!.set(r.tenant, r.json);
      }
      for (const room of new Set([...seen.keys(), ...this.current.keys()])) {
        const now = seen.get(room) ?? new Map<string, string>();
        const had = this.roomMap(room);
        for (const tenant of new Set([...now.keys(), ...had.keys()])) {
          const json = now.get(tenant);
          if (json === had.get(tenant)) continue;
          if (json === undefined) had.delete(tenant);
          else had.set(tenant, json);
          this.listeners.get(room)?.(tenant, json === undefined ? undefined : (JSON.parse(json) as unknown));
        }
      }
    } catch {
      // PostgreSQL out of reach: the settings in force stay; the next poll tries again.
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
