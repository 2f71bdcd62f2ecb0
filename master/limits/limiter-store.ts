/**
 * Where the counters live: rate-limiter-flexible limiters, one per (points,
 * duration), all on one backend. `memory` (default) keeps them in this
 * process; `sqlite` keeps them in `<data dir>/limits.db` (better-sqlite3,
 * rate-limiter-flexible's own SQLite store), so they survive a restart and are
 * shared by masters on one host; `postgres` (the task store is on PostgreSQL)
 * keeps them in the task store's database (postgres-limiters.ts), shared by
 * every master on it.
 *
 * Concurrency meters (duration 0: no expiry) always count in memory: they
 * count this master's unfinished tasks, which a restart re-counts from zero.
 */
import Database from 'better-sqlite3';
import type { LimitsKeeper } from './limits-file.js';
import { RateLimiterMemory, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type LimiterStoreKind = 'memory' | 'sqlite' | 'postgres';

/** Makes the limiters of a shared backend (postgres-limiters.ts). */
export interface LimiterBackend {
  readonly kind: LimiterStoreKind;
  make(opts: { points: number; duration: number; keyPrefix: string }): RateLimiterAbstract;
  /** Where an admin's rules are kept with this backend (shared by the masters on it). */
  readonly rules?: LimitsKeeper;
  close(): void;
}

const SQLITE_TABLE = { keyPrefix: 'tw', storeType: 'better-sqlite3', tableName: 'rate_limits', clearExpiredByTimeout: false } as const;

export class LimiterStore {
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly db: Database.Database | undefined;
  /** Resolves once the store can count (the SQLite table is created asynchronously by rate-limiter-flexible). */
  readonly ready: Promise<void>;

  private readonly backend: LimiterBackend | undefined;

  constructor(
    readonly kind: LimiterStoreKind,
    file?: string | LimiterBackend,
  ) {
    if (typeof file === 'object') {
      this.backend = file;
      this.ready = Promise.resolve();
    } else if (kind === 'sqlite') {
      if (!file) throw new Error('the sqlite limiter store needs a file');
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 1000');
      const db = this.db;
      // The first limiter creates the table; every later one is told it exists.
      this.ready = new Promise<void>((resolve, reject) => {
        new RateLimiterSQLite({ ...SQLITE_TABLE, points: 1, duration: 1, storeClient: db }, (err?: unknown) => (err ? reject(err as Error) : resolve()));
      });
    } else this.ready = Promise.resolve();
  }

  /** The limiter allowing `points` per `durationS` seconds (0: never reset). */
  limiter(points: number, durationS: number): RateLimiterAbstract {
    const id = `${points}/${durationS}`;
    let l = this.limiters.get(id);
    if (!l) {
      const opts = { points, duration: durationS, keyPrefix: 'tw' };
      l = this.backend && durationS > 0 ? this.backend.make(opts) : this.db && durationS > 0 ? new RateLimiterSQLite({ ...opts, ...SQLITE_TABLE, storeClient: this.db, tableCreated: true }) : new RateLimiterMemory(opts);
      this.limiters.set(id, l);
    }
    return l;
  }

  close(): void {
    this.backend?.close();
    this.db?.close();
  }
}
