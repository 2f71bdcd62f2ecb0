/** A PostgreSQL server per describe block for the rooms' tests (vitest hooks: kept out of postgres.ts, which the benchmarks import). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openRoomPool } from '../../master/store/postgres-room-schema.js';
import { Postgres } from './postgres.js';

/**
 * A describe block's server, the rooms' pools and the temporary directories
 * (data dirs) its tests open: the server starts before the first test; after
 * the last every pool is ended, every directory removed, then the server
 * stopped. Call inside `describe` (it registers beforeAll / afterAll).
 */
export function postgresRoomsFixture(): { server: () => Postgres; pool: (url: string) => pg.Pool; dir: (prefix: string) => string } {
  let server: Postgres | undefined;
  const pools: pg.Pool[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => {
    for (const p of pools) await p.end().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await server?.close();
  });
  return {
    server: () => server!,
    pool: (url) => {
      const p = openRoomPool(url);
      pools.push(p);
      return p;
    },
    dir: (prefix) => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
  };
}
