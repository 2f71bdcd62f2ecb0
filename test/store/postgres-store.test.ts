import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresTaskStore } from '../../master/store/postgres-task-store.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { newTask, storeContract } from './store-contract.js';

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

  it('one master per database: a second store is refused; a master whose connection died cannot write once another holds it', async () => {
    const url = await server.createDatabase();
    const a = await PostgresTaskStore.open({ url, downAfterMs: 300, pingIntervalMs: 60_000 });
    try {
      await expect(PostgresTaskStore.open({ url })).rejects.toThrow(/another taskwire master holds this database/);
      // a's connections die (as on a network cut): the lock goes with them, b takes the database.
      await sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'taskwire-master'");
      const b = await PostgresTaskStore.open({ url });
      try {
        a.put(newTask());
        await expect(a.commit()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
        expect(String(a.failure())).toMatch(/another taskwire master/);
        const t = newTask();
        b.put(t);
        await b.commit();
        expect((await sql(url, 'SELECT count(*)::int AS n FROM tasks')).rows[0].n).toBe(1); // only b's task
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  });

  it('batches are prepared statements of the writer connection, prepared again on a new connection after it was lost', async () => {
    const url = await server.createDatabase();
    // The server logs each statement it executes with its name ("execute tw_write_0: …", "execute <unnamed>: …").
    await sql(url, `ALTER DATABASE ${new URL(url).pathname.slice(1)} SET log_statement = 'all'`);
    const store = await PostgresTaskStore.open({ url, downAfterMs: 60_000, pingIntervalMs: 60_000 });
    try {
      const writerPids = async () =>
        (await sql(url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'taskwire-master' AND query LIKE 'WITH w0 AS (INSERT INTO tasks%'")).rows.map((r) => r.pid as number);
      const a = newTask();
      store.put(a);
      await store.commit();
      const [pid] = await writerPids();
      expect(pid).toBeDefined();
      // The same shape again: the writer's connection executes its prepared statement (no new text is parsed).
      const b = newTask();
      store.put(b);
      await store.commit();
      expect(await writerPids()).toEqual([pid]);
      // The connection dies (the writer notices, or retries): the next batch of that shape goes to a new connection, which has not prepared it.
      await sql(url, `SELECT pg_terminate_backend(${pid})`);
      const c = newTask();
      store.put(c);
      await store.commit();
      const [again] = await writerPids();
      expect(again).toBeDefined();
      expect(again).not.toBe(pid);
      expect((await sql(url, 'SELECT count(*)::int AS n FROM tasks')).rows[0].n).toBe(3);
      const log = server.output();
      expect(log.match(/execute tw_write_\d+: WITH w0 AS \(INSERT INTO tasks/g)?.length).toBeGreaterThanOrEqual(3);
      expect(log).not.toMatch(/execute <unnamed>: WITH w0 AS/);
    } finally {
      await store.close();
    }
  });

  storeContract({
    name: 'PostgreSQL',
    durable: true,
    recovers: true,
    fresh: async (cleanup, options) => {
      const url = await server.createDatabase();
      const opened: PostgresTaskStore[] = [];
      const open = async (o?: { pruneChunkRows?: number }) => {
        const store = await PostgresTaskStore.open({ url, downAfterMs: 300, pingIntervalMs: 100, ...o });
        opened.push(store);
        cleanup(() => store.close());
        return store;
      };
      return {
        store: await open(options),
        // One master per database (the writer's lock): the previous store goes first. The suite
        // reopens only after commit(), so nothing is pending; a real kill -9 is postgres-master.test.ts.
        reopen: async (o) => {
          for (const old of opened.splice(0)) await old.close();
          return open(o);
        },
        schemaVersion: async () => (await sql(url, 'SELECT version FROM taskwire_schema')).rows[0].version as number,
        bumpSchema: async () => void (await sql(url, 'UPDATE taskwire_schema SET version = version + 1')),
        breakStorage: () => server.stop(),
        repair: () => server.restart(),
      };
    },
  });
});
