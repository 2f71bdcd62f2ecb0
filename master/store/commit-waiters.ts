/**
 * Who waits for what in a write-behind store: `commit()` and `afterCommit()`
 * wait for the next batch when something is pending, else for the batch in
 * flight, else not at all. A batch's waiters are resolved once it commits;
 * while the database is down they are rejected (their writes stay queued and
 * land later).
 */

export type CommitWaiter = { resolve: () => void; reject?: (err: Error) => void; settled?: boolean };

export class CommitWaiters {
  private waiting: CommitWaiter[] = [];
  /** Waiters of the batch handed to the writer last, until it commits. */
  private inflight: CommitWaiter[] | undefined;

  /** `pending`: something is put and not yet handed to the writer. */
  wait(w: CommitWaiter, pending: boolean): void {
    if (pending) this.waiting.push(w);
    else if (this.inflight) this.inflight.push(w);
    else w.resolve();
  }

  /** A batch is handed to the writer: who waited so far waits for it (returned, for `landed` and `resolve`). */
  handOver(): CommitWaiter[] {
    const waiters = this.waiting;
    this.waiting = [];
    this.inflight = waiters;
    return waiters;
  }

  /** That batch committed: a later waiter no longer waits for it. */
  landed(waiters: CommitWaiter[]): void {
    if (this.inflight === waiters) this.inflight = undefined;
  }

  /** Resolves a committed batch's waiters (not those rejected meanwhile). */
  resolve(waiters: CommitWaiter[]): void {
    for (const w of waiters) {
      if (w.settled) continue;
      w.settled = true;
      w.resolve();
    }
  }

  /** Nothing waiting is acknowledged: commit() callers get `err` now. */
  rejectAll(err: Error): void {
    for (const w of [...this.waiting, ...(this.inflight ?? [])]) {
      if (w.settled || !w.reject) continue;
      w.settled = true;
      w.reject(err);
    }
  }
}
