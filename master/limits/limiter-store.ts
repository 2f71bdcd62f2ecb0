/**
 * Where the counters live: rate-limiter-flexible limiters, one per (points,
 * duration), all on one backend. `memory` (default) keeps them in this
 * process; `sqlite` keeps them in `<data dir>/limits.db` (better-sqlite3,
 * rate-limiter-flexible's own SQLite store), so they survive a restart and are
 * shared by masters on one host. A shared store for masters on several hosts
 * is one more backend here (rate-limiter-flexible has Redis, PostgreSQL, ...).
 *
 * Concurrency meters (duration 0: no expiry) always count in memory: they
 * count this master's unfinished tasks, which a restart re-counts from zero.
 */
import Database from 'better-sqlite3';
import { RateLimiterMemory, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type LimiterStoreKind = 'memory' | 'sqlite';

export class LimiterStore {
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly db: Database.Database | undefined;

  constructor(
    readonly kind: LimiterStoreKind,
    file?: string,
  ) {
    if (kind === 'sqlite') {
      if (!file) throw new Error('the sqlite limiter store needs a file');
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 1000');
    }
  }

  /** The limiter allowing `points` per `durationS` seconds (0: never reset). */
  limiter(points: number, durationS: number): RateLimiterAbstract {
    const id = `${points}/${durationS}`;
    let l = this.limiters.get(id);
    if (!l) {
      const opts = { points, duration: durationS, keyPrefix: 'tw' };
      l = this.db && durationS > 0 ? new RateLimiterSQLite({ ...opts, storeClient: this.db, storeType: 'better-sqlite3', tableName: 'rate_limits', clearExpiredByTimeout: false }) : new RateLimiterMemory(opts);
      this.limiters.set(id, l);
    }
    return l;
  }

  close(): void {
    this.db?.close();
  }
}
