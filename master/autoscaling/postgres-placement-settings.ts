/**
 * The run-time placement settings (strategies per scope, slow start) on
 * PostgreSQL when several masters share the task store: one row of
 * `tw_placement_settings`, in force on every master (runtime-settings.ts
 * applies another master's change within about 2 s). Versioned as the
 * `placement` room in taskwire_room_schema.
 */
import type pg from 'pg';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { PostgresSettingRow, settingRowTable } from '../store/postgres-setting-row.js';
import { sharedPlacementSchema, type SharedPlacement } from './runtime-settings.js';

/** Step n makes version n of the placement room's tables. Append only. */
export const PLACEMENT_PG_STEPS: readonly string[] = [settingRowTable('tw_placement_settings')];

export async function openPostgresPlacement(pool: pg.Pool): Promise<PostgresSettingRow<SharedPlacement>> {
  await migrateRoom(pool, 'placement', PLACEMENT_PG_STEPS);
  return PostgresSettingRow.open<SharedPlacement>(pool, {
    table: 'tw_placement_settings',
    what: 'the placement settings',
    parse: (json) => {
      const p = sharedPlacementSchema.safeParse(json);
      return p.success ? p.data : undefined; // written by a newer taskwire: the settings in force stay
    },
  });
}
