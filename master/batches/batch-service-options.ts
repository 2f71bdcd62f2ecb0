/** The options of the image batch service (batch-service.ts) and their defaults. */
import type { Follower } from '../events/event-log.js';
import type { BatchStore } from './batch-store.js';

export interface BatchServiceOptions {
  /** Priority of the image tasks (default 0). */
  priority?: number;
  /** Where batches are kept (default: memory, forgotten on restart). */
  store?: BatchStore;
  /** Finished batches are forgotten this long after they finished (default 7 days, the default result TTL). */
  retentionMs?: number;
  /**
   * Several masters on one store: this master's id. Its batches carry it;
   * another master's are read from the store (as last written) but never
   * restored here, so no two masters follow, restart or write one batch.
   */
  master?: string;
  /**
   * Several masters: the task watchers, through which the final of a task
   * another master finished reaches here (a restored or taken-over batch's
   * image may run anywhere: its task went back to the shared pool).
   */
  watchers?: { watch(id: string, w: { chunk(): void; done(): void }): () => void };
  /**
   * Several masters: the shared event stream (the EventLog), followed while
   * a task is watched there, so an image another master's worker runs shows
   * `running` here (and its `batch.image`), not queued until it ends.
   */
  events?: { follow(f: Follower): () => void };
  /** Several masters: how often the unfinished batches of masters gone for good are looked for and taken over (default 5 s; 0: never). */
  takeOverEveryMs?: number;
}

export const BATCH_DEFAULTS = { retentionMs: 7 * 24 * 3600_000, takeOverEveryMs: 5000 } as const;
