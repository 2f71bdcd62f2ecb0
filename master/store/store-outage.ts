/**
 * The PostgreSQL task store's failure state: set while PostgreSQL is out of
 * reach (submits get 503, nothing is acknowledged; the writes handed over are
 * kept and retried) and cleared once writes commit again; for good once this
 * master lost its lease (multi-master).
 */
import { StoreUnavailableError } from './store-file-check.js';

export class StoreOutage {
  private failed: Error | undefined;
  private lost = false;

  constructor(
    /** The store's options: told when it goes down and comes back. */
    private readonly hooks: { onDown?: (err: Error) => void; onUp?: () => void },
    /** Rejects what waits for a commit (called before `onDown`). */
    private readonly rejectWaiting: (err: Error) => void,
  ) {}

  /** The store's failure() while down. */
  get current(): Error | undefined {
    return this.failed;
  }

  down(err: Error): void {
    this.failed = new StoreUnavailableError(err.message);
    // Nothing waiting is acknowledged: commit() callers get the error now (their writes stay queued and land later).
    this.rejectWaiting(this.failed);
    this.hooks.onDown?.(this.failed);
  }

  up(): void {
    if (!this.failed || this.lost) return;
    this.failed = undefined;
    this.hooks.onUp?.();
  }

  /** Multi-master: this master lost its lease (nothing it is given is acknowledged any more). */
  lose(err: Error): void {
    this.lost = true;
    this.down(err);
  }
}
