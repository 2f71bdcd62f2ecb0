/**
 * The interest table of the chunk relay (multi-master): which master has a
 * client interested in a task's live output, by key `t:{taskId}` (a
 * live-output follower, a streamed gateway call) or `s:{sessionId}` (a
 * browser session's Socket.IO connection). A row lives while its master
 * renews it (`expires_at`, a lease on the database clock) and is deleted
 * when the interest ends or its master stops. Every insert also NOTIFYs
 * `taskwire_watch` with `{key} {masterId}`, so the master running the task
 * learns of an interest that came after it looked.
 */
import pg from 'pg';
import { pgClientConfig } from '../store/postgres-writer.js';

export const WATCH_CHANNEL = 'taskwire_watch';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS taskwire_watch (
  key text NOT NULL,
  master_id text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (key, master_id)
);
CREATE INDEX IF NOT EXISTS taskwire_watch_expires ON taskwire_watch (expires_at);
CREATE INDEX IF NOT EXISTS taskwire_watch_master ON taskwire_watch (master_id);
`;

/** A key of the table (`t:` task, `s:` session). */
export const taskKey = (id: string) => `t:${id}`;
export const sessionKey = (id: string) => `s:${id}`;

export interface WatchTableOptions {
  url: string;
  masterId: string;
  /** How long a row lives without renewal (default 10 min); renewed every third of it. */
  ttlMs?: number;
}

export class WatchTable {
  private readonly pool: pg.Pool;
  private listener: pg.Client | undefined;
  private onInterest: ((key: string, masterId: string) => void) | undefined;
  private closed = false;
  readonly ttlMs: number;

  private constructor(private readonly o: WatchTableOptions) {
    this.ttlMs = o.ttlMs ?? 600_000;
    this.pool = new pg.Pool({ ...pgClientConfig(o.url), application_name: 'taskwire-relay', max: 2, idleTimeoutMillis: 30_000 });
    this.pool.on('error', () => undefined);
  }

  static async open(o: WatchTableOptions): Promise<WatchTable> {
    const t = new WatchTable(o);
    try {
      // Under an advisory lock: two masters starting at once do not race on CREATE.
      const c = await t.pool.connect();
      try {
        await c.query(`SELECT pg_advisory_lock(hashtext('taskwire_watch'))`);
        try {
          await c.query(SCHEMA);
        } finally {
          await c.query(`SELECT pg_advisory_unlock(hashtext('taskwire_watch'))`);
        }
      } finally {
        c.release();
      }
      // An earlier incarnation's rows (a crash) are not this one's interests.
      await t.pool.query(`DELETE FROM taskwire_watch WHERE master_id = $1`, [o.masterId]);
    } catch (err) {
      await t.pool.end().catch(() => undefined);
      throw err;
    }
    return t;
  }

  /** Adds (or renews) this master's interest in the keys; each new one is announced. */
  async add(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query(
      `WITH ins AS (
         INSERT INTO taskwire_watch (key, master_id, expires_at)
         SELECT k, $2, now() + $3 * interval '1 millisecond' FROM unnest($1::text[]) AS k
         ON CONFLICT (key, master_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
         RETURNING key)
       SELECT count(pg_notify('${WATCH_CHANNEL}', key || ' ' || $2)) FROM ins`,
      [keys, this.o.masterId, this.ttlMs],
    );
  }

  async remove(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query(`DELETE FROM taskwire_watch WHERE master_id = $2 AND key = ANY($1::text[])`, [keys, this.o.masterId]);
  }

  /** The other masters interested in any of the keys (unexpired rows): key -> master ids. */
  async lookup(keys: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (keys.length === 0) return out;
    const { rows } = await this.pool.query<{ key: string; master_id: string }>(
      `SELECT key, master_id FROM taskwire_watch WHERE key = ANY($1::text[]) AND master_id <> $2 AND expires_at > now()`,
      [keys, this.o.masterId],
    );
    for (const r of rows) {
      const list = out.get(r.key);
      if (list) list.push(r.master_id);
      else out.set(r.key, [r.master_id]);
    }
    return out;
  }

  /** Deletes rows past their lease (a master that died without cleaning up). */
  async prune(): Promise<number> {
    return (await this.pool.query(`DELETE FROM taskwire_watch WHERE expires_at < now()`)).rowCount ?? 0;
  }

  /** Interests announced by the other masters, from now on (LISTEN; `relisten` reconnects a lost listener). */
  async listen(onInterest: (key: string, masterId: string) => void): Promise<void> {
    this.onInterest = onInterest;
    await this.relisten();
  }

  /** Opens the listening connection again if it was lost (called periodically). */
  async relisten(): Promise<void> {
    if (this.closed || this.listener || !this.onInterest) return;
    const client = new pg.Client({ ...pgClientConfig(this.o.url), application_name: 'taskwire-relay-listen', query_timeout: 0 });
    const lost = () => {
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (m) => {
      const p = m.payload ?? '';
      const at = p.lastIndexOf(' ');
      if (at <= 0) return;
      const master = p.slice(at + 1);
      if (master !== this.o.masterId) this.onInterest?.(p.slice(0, at), master);
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${WATCH_CHANNEL}`);
    } catch (err) {
      lost();
      throw err;
    }
    if (this.closed) lost();
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Deletes this master's rows and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
    await this.pool.query(`DELETE FROM taskwire_watch WHERE master_id = $1`, [this.o.masterId]).catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
