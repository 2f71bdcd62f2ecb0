/**
 * The SQLite task store's options and the constants of its write path.
 */

/**
 * An attempt's assigned/running state is written only once the attempt has
 * lasted this long (ms): most attempts finish first, and their final row
 * covers it. The state lets a restarted master adopt attempts still running
 * on their workers; without it a task is restored queued and re-run (at least
 * once still holds, and results stay fenced). So a master crash re-runs at
 * most the attempts of its last half second, and short tasks cost one insert
 * and one update. (Temporal likewise writes ActivityTaskStarted to history only when the activity closes.)
 */
export const STATE_WRITE_DELAY_MS = 500;
/** Least time between two commits under load (a lone write still commits at once). */
export const MIN_COMMIT_SPACING_MS = 2;
/** A commit of at least this many rows means "busy": space the next one. */
export const BUSY_FLUSH_ROWS = 32;

export interface SqliteTaskStoreOptions {
  path: string;
  /** Called if the writer thread fails: durability is lost, the master should stop. */
  onFatal?: (err: Error) => void;
  /** Finished tasks kept in memory besides the disk copy (default 10000). */
  maxCachedFinished?: number;
  /** Bytes of finished tasks' input and result kept in memory (default 256 MiB); older ones are read back from disk. */
  maxCachedFinishedBytes?: number;
  /** Rows deleted per pruning transaction (default 5000), so writes are never held up for long. */
  pruneChunkRows?: number;
  /** How often the database file is checked while idle, ms (default 1000; it is also checked before every acknowledged commit). */
  fileCheckIntervalMs?: number;
}

/** Owner-only modes: the database holds the cluster token, the result-token key and every input and result. */
export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;
