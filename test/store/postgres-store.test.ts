import { afterAll, beforeAll, describe } from 'vitest';
import pg from 'pg';
import { PostgresTaskStore } from '../../master/store/postgres-task-store.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { storeContract } from './store-contract.js';

const available = postgresAvailable();

describe.skipIf(!available)(`PostgreSQL store${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => server?.close());

  async function sql(url: string, text: string): Promise<pg.QueryResult> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await c.query(text);
    } finally {
      await c.end();
    }
  }

  storeContract({
    name: 'PostgreSQL',
    durable: true,
    recovers: true,
    fresh: async (cleanup, options) => {
      const url = await server.createDatabase();
      const open = async (o?: { pruneChunkRows?: number }) => {
        const store = await PostgresTaskStore.open({ url, downAfterMs: 300, pingIntervalMs: 100, ...o });
        cleanup(() => store.close());
        return store;
      };
      return {
        store: await open(options),
        reopen: open,
        schemaVersion: async () => (await sql(url, 'SELECT version FROM taskwire_schema')).rows[0].version as number,
        bumpSchema: async () => void (await sql(url, 'UPDATE taskwire_schema SET version = version + 1')),
        breakStorage: () => server.stop(),
        repair: () => server.restart(),
      };
    },
  });
});
