/**
 * Writes of an admin setting kept in PostgreSQL and polled by every master
 * (limit rules, tenant settings, prices and budgets): in order, each one
 * resolving once committed, or rejecting with 503 UNAVAILABLE when
 * PostgreSQL refused it (the admin's request then fails instead of
 * answering 200 for a setting no other master, and no restart, will see).
 * A poll reads after the writes issued before it, and its answer is
 * dropped when a local write overlapped it, so a poll never undoes a change
 * made here.
 */
import type pg from 'pg';
import { TaskwireError } from '../../common/errors.js';

export class SettingWrites {
  private chain: Promise<void> = Promise.resolve();
  /** Local writes so far (a poll that overlapped one is stale). */
  private changes = 0;

  constructor(
    private readonly pool: pg.Pool,
    /** What is written, for the error (`the limit rules`). */
    private readonly what: string,
  ) {}

  /** Runs `sql` after the writes before it; resolves with its result once committed. */
  write<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, args: unknown[]): Promise<pg.QueryResult<R>> {
    this.changes++;
    const done = this.chain.then(() => this.pool.query<R>(sql, args)).catch((err: unknown) => {
      throw new TaskwireError('UNAVAILABLE', `${this.what} could not be kept (${err instanceof Error ? err.message : String(err)}); nothing changed, retry shortly`);
    });
    this.chain = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  /** Reads after this master's writes; undefined when a write of this master overlapped the read (stale). */
  async read<T>(read: () => Promise<T>): Promise<T | undefined> {
    await this.chain;
    const before = this.changes;
    const v = await read();
    return this.changes === before ? v : undefined;
  }

  /** Resolves once every write issued so far is answered. */
  settled(): Promise<void> {
    return this.chain;
  }
}
