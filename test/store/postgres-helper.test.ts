import { afterAll, describe, expect, it } from 'vitest';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';

describe.skipIf(!postgresAvailable())(`PostgreSQL test server${postgresAvailable() ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres | undefined;
  afterAll(async () => server?.close());

  it('starts on a free port, creates a database, keeps its data across a restart and a crash', async () => {
    server = await Postgres.start();
    const url = await server.createDatabase();
    const db = url.slice(url.lastIndexOf('/') + 1);
    await server.query('CREATE TABLE t (x int); INSERT INTO t VALUES (42)', db);
    await server.restart();
    expect((await server.query('SELECT x FROM t', db)).rows).toEqual([{ x: 42 }]);
    await server.kill9();
    await server.restart();
    expect((await server.query('SELECT x FROM t', db)).rows).toEqual([{ x: 42 }]);
  });
});
