/**
 * The result TTL: every minute (or every TTL, when shorter) finished tasks
 * older than the TTL are deleted from the store (in chunks, see the store).
 * One prune at a time: a tick while the last one still runs is skipped.
 */
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { TaskStore } from './task-store.js';

export interface PruneTimerOptions {
  resultTtlMs: number;
  /** Longest time between two prunes (default one minute). */
  maxIntervalMs?: number;
}

export class PruneTimer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly store: TaskStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: PruneTimerOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.pruneNow(), Math.min(this.options.maxIntervalMs ?? 60_000, this.options.resultTtlMs));
    this.timer.unref();
  }

  /** Prunes once now (or joins the prune in progress); resolves with how many tasks went. */
  pruneNow(): Promise<number> {
    if (this.running) return this.running;
    const run = this.store
      .prune(this.clock.now() - this.options.resultTtlMs)
      .then((n) => {
        if (n > 0) this.log.info({ pruned: n }, 'pruned finished tasks past the result TTL');
        return n;
      })
      .catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, 'pruning finished tasks failed');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    this.running = run;
    return run;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
