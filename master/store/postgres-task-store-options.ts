/** The options of the PostgreSQL task store (postgres-task-store.ts), and what a multi-master store needs of its cluster. */
import type { WriteFence } from './postgres-fence.js';

export interface PostgresTaskStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Finished tasks kept in memory besides the database copy (default 10000). */
  maxCachedFinished?: number;
  /** Bytes of finished tasks' input and result kept in memory (default 256 MiB). */
  maxCachedFinishedBytes?: number;
  /** Rows deleted per pruning statement (default 5000). */
  pruneChunkRows?: number;
  /** PostgreSQL failing this long sets failure() (default 2000 ms). */
  downAfterMs?: number;
  /** Idle ping interval, ms (default 1000). */
  pingIntervalMs?: number;
  /** Told when the store goes down (failure() set) and comes back. */
  onDown?: (err: Error) => void;
  onUp?: () => void;
  /** Multi-master mode (postgres-cluster.ts): this master's fence and what it is told. */
  cluster?: StoreClusterHooks;
}

/** What a multi-master store needs of its cluster (postgres-cluster.ts). */
export interface StoreClusterHooks extends WriteFence {
  /** Pooled tasks whose row committed: this master no longer holds them. */
  onHandedOff(ids: string[]): void;
  /** Only the leader prunes. */
  isLeader(): boolean;
}
