/**
 * What the PostgreSQL store reads past its cache: the task rows of
 * `preload()`, on the read pool (by id, by idempotency key, a session's
 * newest; while the store is down what is not cached cannot be answered,
 * 503, rather than reported missing), and one meta value without opening a
 * store.
 */
import pg from 'pg';
import { pgClientConfig } from './postgres-writer.js';
import { redactPostgresUrl } from './redact-postgres-url.js';
import { ROW, type Row } from './sqlite-rows.js';
import { StoreUnavailableError } from './store-file-check.js';

export class PostgresTaskReads {
  constructor(
    private readonly pool: pg.Pool,
    /** The store's failure, when it is down. */
    private readonly failed: () => Error | undefined,
  ) {}

  /** One meta value, read without opening a store (no lock: `taskwire token --store` next to a running master). */
  static async meta(url: string, key: string): Promise<string | undefined> {
    const client = new pg.Client(pgClientConfig(url));
    try {
      await client.connect();
      if ((await client.query<{ t: string | null }>(`SELECT to_regclass('meta')::text AS t`)).rows[0]?.t === null) return undefined;
      return (await client.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
    } catch (err) {
      throw new StoreUnavailableError(`PostgreSQL at ${redactPostgresUrl(url)}: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  byId(id: string): Promise<Row[]> {
    return this.read(`SELECT ${ROW} FROM tasks WHERE id = $1`, [id]);
  }

  byIdempotencyKey(key: string): Promise<Row[]> {
    return this.read(`SELECT ${ROW} FROM tasks WHERE idempotency_key = $1`, [key]);
  }

  /** A session's newest `limit` tasks. */
  bySession(sessionId: string, limit: number): Promise<Row[]> {
    return this.read(`SELECT ${ROW} FROM tasks WHERE session_id = $1 ORDER BY seq DESC LIMIT $2`, [sessionId, limit]);
  }

  private async read(sql: string, params: unknown[]): Promise<Row[]> {
    // Down: what is not cached cannot be answered (503), rather than reported missing.
    const failed = this.failed();
    if (failed) throw failed;
    try {
      return (await this.pool.query<Row>(sql, params)).rows;
    } catch (err) {
      throw new StoreUnavailableError(`PostgreSQL read failed: ${(err as Error).message}`);
    }
  }
}
