/** A PostgreSQL server per describe block for the rooms' tests (vitest hooks: kept out of postgres.ts, which the benchmarks import). */
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openRoomPool } from '../../master/store/postgres-room-schema.js';
import { Postgres } from './postgres.js';

/**
 * A describe block's server and the rooms' pools its tests open: the server
 * starts before the first test; after the last every pool is ended, then the
 * server stopped. Call inside `describe` (it registers beforeAll / afterAll).
 */
export function postgresRoomsFixture(): { server: () => Postgres; pool: (url: string) => pg.Pool } {
  let server: Postgres | undefined;
  const pools: pg.Pool[] = [];
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => {
    for (const p of pools) await p.end().catch(() => undefined);
    await server?.close();
  });
  return {
    server: () => server!,
    pool: (url) => {
      const p = openRoomPool(url);
      pools.push(p);
      return p;
    },
  };
}
