/**
 * The multi-master claim statement (master/store/postgres-claims.ts) against a
 * real PostgreSQL: a claim of n takes at most n pooled tasks, concurrent claims
 * never take the same task, and together they drain the pool. (A claim written
 * as `WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` took 155 and 241
 * tasks for n ≤ 4 in the three-master test: the planner may rescan the locking
 * subquery, and each rescan skips the rows the last one locked.)
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureClusterSchema } from '../../master/store/cluster-schema.js';
import { CLAIM_SQL } from '../../master/store/postgres-claims.js';
import { migratePostgres } from '../../master/store/postgres-schema.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';

const available = postgresAvailable();

describe.skipIf(!available)(`the pooled-task claim${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await Postgres.start();
    pool = new pg.Pool({ connectionString: await server.createDatabase(), max: 8 });
    pool.on('error', () => undefined); // idle clients see the server stop at the end
    const c = await pool.connect();
    try {
      await migratePostgres(c);
      await ensureClusterSchema(c);
    } finally {
      c.release();
    }
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await server?.close();
  });

  const fill = async (n: number, kinds: string[]) => {
    await pool.query('DELETE FROM tasks');
    await pool.query(
      `INSERT INTO tasks (id, seq, status, kind, created_at, record, priority)
       SELECT 't' || i, i, 'queued', ($2::text[])[1 + i % array_length($2::text[], 1)], 1000 + i, '{}', i % 3 FROM generate_series(1, $1) AS i`,
      [n, kinds],
    );
    // No ANALYZE, as on a cluster whose pool filled since autovacuum last looked: without the
    // rows' statistics the planner picks a nested-loop semi-join for `id IN (SELECT …)`.
  };
  /** `leave`: [kind, model ('' none), features ('' none)] of requirements the claim leaves in the pool. */
  const claim = async (owner: string, kinds: string[], n: number, leave: [string, string, string][] = []) =>
    (await pool.query<{ id: string }>(CLAIM_SQL, [owner, 1, kinds, n, leave.map((l) => l[0]), leave.map((l) => l[1]), leave.map((l) => l[2])])).rows.map((r) => r.id);

  it('a claim of n takes at most n tasks, oldest of the highest priority first', async () => {
    await fill(300, ['echo']);
    for (const n of [1, 4, 7]) {
      const got = await claim('m1', ['echo'], n);
      expect(got.length).toBe(n);
    }
    const owned = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE owner = 'm1'`);
    expect(owned.rows[0]!.n).toBe(12);
    // Priority 2 rows are i % 3 == 2: the first claim took the oldest of them.
    const first = await pool.query<{ id: string }>(`SELECT id FROM tasks WHERE owner = 'm1' ORDER BY seq LIMIT 1`);
    expect(first.rows[0]!.id).toBe('t2');
  });

  it('concurrent claims of three masters never overlap, never exceed n, and drain the pool', async () => {
    await fill(600, ['echo', 'llm']);
    const taken = new Map<string, string>();
    const masters = ['ma', 'mb', 'mc'];
    let rounds = 0;
    for (;;) {
      const results = await Promise.all(masters.map(async (m) => ({ m, ids: await claim(m, ['echo', 'llm'], 4) })));
      rounds++;
      for (const { m, ids } of results) {
        expect(ids.length, `one claim of 4 by ${m}`).toBeLessThanOrEqual(4);
        for (const id of ids) {
          expect(taken.get(id), `${id} claimed twice`).toBeUndefined();
          taken.set(id, m);
        }
      }
      if (results.every((r) => r.ids.length === 0)) break;
      expect(rounds).toBeLessThan(1000);
    }
    expect(taken.size).toBe(600);
    const left = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE owner IS NULL`);
    expect(left.rows[0]!.n).toBe(0);
  });

  it('claims only the kinds asked for and never a finished or owned task', async () => {
    await fill(40, ['echo', 'llm']);
    await pool.query(`UPDATE tasks SET finished_at = 5 WHERE seq <= 10`);
    await pool.query(`UPDATE tasks SET owner = 'other' WHERE seq BETWEEN 11 AND 20`);
    const got = await claim('m1', ['llm'], 100);
    const rows = await pool.query<{ id: string; kind: string; seq: string }>(`SELECT id, kind, seq FROM tasks WHERE id = ANY($1)`, [got]);
    expect(rows.rows.length).toBe(10); // seq 21..40, every other one is llm
    for (const r of rows.rows) {
      expect(r.kind).toBe('llm');
      expect(Number(r.seq)).toBeGreaterThan(20);
    }
  });

  it('leaves the requirements it is told to (kind, model, features; none is \'\'), whatever else is of their kind', async () => {
    await pool.query('DELETE FROM tasks');
    const rows: [string, string, string | null, string | null][] = [
      ['plain', 'image', null, null],
      ['ops', 'image', null, 'op:resize'],
      ['webp', 'image', null, 'op:resize,read:webp'],
      ['webp2', 'image', null, 'op:resize,read:webp'],
      ['m1', 'llm', 'm1', null],
      ['m2', 'llm', 'm2', null],
    ];
    for (const [i, [id, kind, model, features]] of rows.entries()) {
      await pool.query(`INSERT INTO tasks (id, seq, status, kind, created_at, record, priority, tenant, model, features) VALUES ($1, $2, 'queued', $3, $2, '{}', 0, 'default', $4, $5)`, [id, i + 1, kind, model, features]);
    }
    const got = await claim('m1', ['image', 'llm'], 100, [['image', '', 'op:resize,read:webp'], ['llm', 'm2', ''], ['image', '', 'read:avif']]);
    expect(got.sort()).toEqual(['m1', 'ops', 'plain']);
    // Leaving the requirement with no features leaves only that one.
    expect((await claim('m2', ['image', 'llm'], 100, [['image', '', '']])).sort()).toEqual(['m2', 'webp', 'webp2']);
  });
});
