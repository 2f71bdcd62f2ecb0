/**
 * One transaction under a transaction-level advisory lock: what the stores
 * run when they create or change their tables, so masters starting at once
 * (or `taskwire store migrate` beside them) do it one at a time. Commits
 * after `work`; rolls back and rethrows when it fails.
 */
import type pg from 'pg';

export async function inLockedTransaction(client: pg.ClientBase, lock: number, work: () => Promise<unknown>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lock]);
    await work();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
