/**
 * Schema versions of the rooms that keep their tables on PostgreSQL next to
 * the task store (events, logs, limits, billing, tenancy): one row per room
 * in `taskwire_room_schema`, steps appended per room, run in one transaction
 * under an advisory lock (as postgres-schema.ts does for the task tables), so
 * masters starting at once on one database migrate each room once. A
 * database written by a newer taskwire is refused.
 */
import pg from 'pg';
import { pgClientConfig } from './postgres-writer.js';

/** Key of the advisory lock held while a room migrates ("room"). */
const ROOM_MIGRATION_LOCK = 0x726f6f6d;

export class RoomSchemaTooNewError extends Error {
  readonly code = 'STORE_SCHEMA_TOO_NEW';
  constructor(room: string, found: number, known: number) {
    super(`the ${room} tables were written by a newer taskwire (schema ${found}; this version reads up to ${known})`);
    this.name = 'RoomSchemaTooNewError';
  }
}

/** The version of one room's tables (0 = none yet). */
export async function roomSchemaVersion(client: pg.ClientBase, room: string): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('taskwire_room_schema')::text AS t`);
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ version: number }>('SELECT version FROM taskwire_room_schema WHERE room = $1', [room]);
  return r.rows[0]?.version ?? 0;
}

/** Brings `room`'s tables to `steps.length` (step n makes version n); returns the version found before. */
export async function migrateRoom(on: pg.Pool | pg.ClientBase, room: string, steps: readonly string[]): Promise<number> {
  const pooled = on instanceof pg.Pool;
  const c = pooled ? await on.connect() : on;
  const ignore = (): void => undefined;
  if (pooled) c.on('error', ignore); // lost while checked out: the query fails, no uncaught 'error'
  let failed: Error | undefined;
  try {
    await c.query('BEGIN');
    try {
      await c.query('SELECT pg_advisory_xact_lock($1)', [ROOM_MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS taskwire_room_schema (room text PRIMARY KEY, version integer NOT NULL)');
      const found = await roomSchemaVersion(c, room);
      if (found > steps.length) throw new RoomSchemaTooNewError(room, found, steps.length);
      for (let v = found + 1; v <= steps.length; v++) await c.query(steps[v - 1]!);
      if (found < steps.length) {
        await c.query('INSERT INTO taskwire_room_schema (room, version) VALUES ($1, $2) ON CONFLICT (room) DO UPDATE SET version = excluded.version', [room, steps.length]);
      }
      await c.query('COMMIT');
      return found;
    } catch (err) {
      failed = err as Error;
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    if (pooled) {
      c.off('error', ignore);
      (c as pg.PoolClient).release(failed);
    }
  }
}

/** The pool the rooms share on one database (the task store's URL and settings). */
export function openRoomPool(url: string, max = 6): pg.Pool {
  const pool = new pg.Pool({ ...pgClientConfig(url), application_name: 'taskwire-master-rooms', max, idleTimeoutMillis: 30_000 });
  pool.on('error', () => undefined); // an idle connection lost: the pool replaces it
  return pool;
}
