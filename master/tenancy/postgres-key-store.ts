/**
 * Tenants, users and keys on PostgreSQL (the task store's database,
 * TASKWIRE_STORE=postgres://…), shared by every master on it. The key store
 * keeps its maps in memory as with SQLite: `open()` loads them (async, once),
 * each admin change is one statement that upserts the row and, in the same
 * statement, notifies the other masters (`pg_notify` on `taskwire_tenancy`:
 * delivered at COMMIT, so never before the row is readable). Each master
 * LISTENs on a connection of its own and reads the row named; after that
 * connection was lost it reconnects and reads every row again (nothing
 * missed while it was away). A key created on one master therefore resolves
 * on every master a few milliseconds later, and a revoke or rotate drops the
 * old secret everywhere. Schema versions in taskwire_room_schema.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TaskwireError } from '../../common/errors.js';
import type { Scope } from '../http/auth/principal.js';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { pgClientConfig } from '../store/postgres-writer.js';
import type { ApiKeyRecord, TenantRecord, UserRecord } from './tenancy-records.js';
import type { TenancyChange, TenancyPersistence, TenancySnapshot } from './tenancy-persistence.js';

/** Step n makes version n of the tenancy room's tables. Append only. */
export const TENANCY_PG_STEPS: readonly string[] = [
  `
  CREATE TABLE tw_tenants (id text PRIMARY KEY, name text, created_at bigint NOT NULL);
  CREATE TABLE tw_users (tenant text NOT NULL, id text NOT NULL, name text, created_at bigint NOT NULL, PRIMARY KEY (tenant, id));
  CREATE TABLE tw_api_keys (
    id text PRIMARY KEY, tenant text NOT NULL, user_id text, name text, scopes text NOT NULL, kinds text, models text,
    hash text NOT NULL UNIQUE, prefix text NOT NULL, created_at bigint NOT NULL, rotated_at bigint, revoked_at bigint
  );
  CREATE INDEX tw_api_keys_tenant ON tw_api_keys (tenant);
  CREATE TABLE tw_tenancy_meta (key text PRIMARY KEY, value text NOT NULL);
  `,
];

const CHANNEL = 'taskwire_tenancy';
const RECONNECT_MS = 1000;

type KeyRow = {
  id: string; tenant: string; user_id: string | null; name: string | null; scopes: string; kinds: string | null; models: string | null;
  hash: string; prefix: string; created_at: number; rotated_at: number | null; revoked_at: number | null;
};
type Note = { origin: string; t: 'tenant' | 'user' | 'key'; id: string; tenant?: string };

const list = (json: string | null): string[] | null => (json === null ? null : (JSON.parse(json) as string[]));
const keyOf = (r: KeyRow): ApiKeyRecord => ({
  id: r.id, tenant: r.tenant, user: r.user_id, name: r.name, scopes: JSON.parse(r.scopes) as Scope[], kinds: list(r.kinds), models: list(r.models),
  hash: r.hash, prefix: r.prefix, createdAtMs: r.created_at, rotatedAtMs: r.rotated_at, revokedAtMs: r.revoked_at,
});

const NOTIFY = `SELECT pg_notify('${CHANNEL}', $1) FROM up`;
const PUT_TENANT = `WITH up AS (INSERT INTO tw_tenants (id, name, created_at) VALUES ($2, $3, $4) ON CONFLICT (id) DO UPDATE SET name = excluded.name RETURNING 1) ${NOTIFY}`;
const PUT_USER = `WITH up AS (INSERT INTO tw_users (tenant, id, name, created_at) VALUES ($2, $3, $4, $5) ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name RETURNING 1) ${NOTIFY}`;
const PUT_KEY = `WITH up AS (
  INSERT INTO tw_api_keys (id, tenant, user_id, name, scopes, kinds, models, hash, prefix, created_at, rotated_at, revoked_at)
  VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
  ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, prefix = excluded.prefix, scopes = excluded.scopes, kinds = excluded.kinds,
    models = excluded.models, name = excluded.name, rotated_at = excluded.rotated_at, revoked_at = excluded.revoked_at
  RETURNING 1) ${NOTIFY}`;

export class PostgresKeyStorePersistence implements TenancyPersistence {
  /** This master's mark on its notifications (its own are not read back). */
  private readonly origin = randomBytes(8).toString('hex');
  private readonly meta = new Map<string, string>();
  private snapshot: TenancySnapshot = { tenants: [], users: [], keys: [] };
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private listener: ((change: TenancyChange) => void) | undefined;
  private client: pg.Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Notifications that came before the key store watched (between open and its start). */
  private readonly early: Note[] = [];

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  /** Migrates the tables, loads every row and starts listening. */
  static async open(pool: pg.Pool, url: string): Promise<PostgresKeyStorePersistence> {
    const p = new PostgresKeyStorePersistence(pool, url);
    await migrateRoom(pool, 'tenancy', TENANCY_PG_STEPS);
    await p.listen();
    p.snapshot = await p.readAll();
    for (const r of (await pool.query<{ key: string; value: string }>('SELECT key, value FROM tw_tenancy_meta')).rows) p.meta.set(r.key, r.value);
    return p;
  }

  load(): TenancySnapshot {
    return this.snapshot;
  }

  watch(listener: (change: TenancyChange) => void): void {
    this.listener = listener;
    for (const n of this.early.splice(0)) void this.fetch(n);
  }

  private note(t: Note['t'], id: string, tenant?: string): string {
    return JSON.stringify({ origin: this.origin, t, id, ...(tenant !== undefined && { tenant }) } satisfies Note);
  }

  putTenant(t: TenantRecord): void {
    this.write(PUT_TENANT, [this.note('tenant', t.id), t.id, t.name, t.createdAtMs]);
  }

  putUser(u: UserRecord): void {
    this.write(PUT_USER, [this.note('user', u.id, u.tenant), u.tenant, u.id, u.name, u.createdAtMs]);
  }

  putKey(k: ApiKeyRecord): void {
    this.write(PUT_KEY, [
      this.note('key', k.id), k.id, k.tenant, k.user, k.name, JSON.stringify(k.scopes), k.kinds && JSON.stringify(k.kinds), k.models && JSON.stringify(k.models),
      k.hash, k.prefix, k.createdAtMs, k.rotatedAtMs, k.revokedAtMs,
    ]);
  }

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
    this.write('INSERT INTO tw_tenancy_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  /** Writes run one after another, in the order the key store made them. */
  private write(sql: string, args: unknown[]): void {
    this.chain = this.chain.then(() =>
      this.pool.query(sql, args).then(
        () => undefined,
        (err: Error) => {
          this.failure ??= err;
        },
      ),
    );
  }

  async flushed(): Promise<void> {
    await this.chain;
    const err = this.failure;
    this.failure = undefined;
    if (err) throw new TaskwireError('UNAVAILABLE', `the key store could not be written to PostgreSQL (${err.message}); retry shortly`);
  }

  private async readAll(): Promise<TenancySnapshot> {
    const tenants = (await this.pool.query<{ id: string; name: string | null; created_at: number }>('SELECT id, name, created_at FROM tw_tenants ORDER BY created_at, id')).rows.map(
      (r) => ({ id: r.id, name: r.name, createdAtMs: r.created_at }),
    );
    const users = (await this.pool.query<{ tenant: string; id: string; name: string | null; created_at: number }>('SELECT tenant, id, name, created_at FROM tw_users ORDER BY created_at, id')).rows.map(
      (r) => ({ tenant: r.tenant, id: r.id, name: r.name, createdAtMs: r.created_at }),
    );
    const keys = (await this.pool.query<KeyRow>('SELECT * FROM tw_api_keys ORDER BY created_at, id')).rows.map(keyOf);
    return { tenants, users, keys };
  }

  /** The notified rows being read, in notification order. */
  private fetches: Promise<void> = Promise.resolve();

  private async listen(): Promise<void> {
    const client = new pg.Client({ ...pgClientConfig(this.url), application_name: 'taskwire-master-tenancy', query_timeout: 0 });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => {
      // One at a time, in the order they came: a key is applied after its tenant and user (the
      // writes were made in that order), never before them because its read came back first.
      if (n.channel === CHANNEL && n.payload) {
        const note = JSON.parse(n.payload) as Note;
        this.fetches = this.fetches.then(() => this.fetch(note));
      }
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  /** The listening connection is gone: back after a pause, then every row read again. */
  private lost(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    const retry = () => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.listen()
        .then(() => this.resync())
        .catch(() => {
          if (!this.closed && !this.client) this.reconnectTimer = setTimeout(retry, RECONNECT_MS);
        });
    };
    this.reconnectTimer = setTimeout(retry, RECONNECT_MS);
  }

  /** Every row read again and told to the key store (it ignores what it already holds). */
  private async resync(): Promise<void> {
    const snap = await this.readAll();
    for (const tenant of snap.tenants) this.listener?.({ tenant });
    for (const user of snap.users) this.listener?.({ user });
    for (const key of snap.keys) this.listener?.({ key });
  }

  private async fetch(n: Note): Promise<void> {
    if (n.origin === this.origin || this.closed) return;
    if (!this.listener) {
      if (this.early.length < 10_000) this.early.push(n);
      return;
    }
    try {
      if (n.t === 'tenant') {
        const r = (await this.pool.query<{ id: string; name: string | null; created_at: number }>('SELECT id, name, created_at FROM tw_tenants WHERE id = $1', [n.id])).rows[0];
        if (r) this.listener({ tenant: { id: r.id, name: r.name, createdAtMs: r.created_at } });
      } else if (n.t === 'user') {
        const r = (await this.pool.query<{ tenant: string; id: string; name: string | null; created_at: number }>('SELECT tenant, id, name, created_at FROM tw_users WHERE tenant = $1 AND id = $2', [n.tenant, n.id])).rows[0];
        if (r) this.listener({ user: { tenant: r.tenant, id: r.id, name: r.name, createdAtMs: r.created_at } });
      } else {
        const r = (await this.pool.query<KeyRow>('SELECT * FROM tw_api_keys WHERE id = $1', [n.id])).rows[0];
        if (r) this.listener({ key: keyOf(r) });
      }
    } catch {
      // The row could not be read: read every row again shortly (or on the listener's reconnect).
      if (!this.closed) setTimeout(() => void this.resync().catch(() => undefined), RECONNECT_MS).unref();
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  /** Every write handed over is done (the rooms' pool is ended after this). */
  async drain(): Promise<void> {
    await this.chain;
  }
}
