/**
 * Bytes of task input an owner (a principal) may hold in the master at once,
 * queued or running. A submit that would pass the owner's share or the
 * cluster's total is refused with RESOURCE_EXHAUSTED (HTTP 429, Retry-After)
 * before anything is stored, so a flood of large submits cannot exhaust the
 * master's memory; the bytes come back when the task finishes, whatever way.
 */
import { ResourceExhaustedError } from '../../common/errors.js';

export interface PayloadBudgetOptions {
  /** Unfinished input bytes one owner may hold (default 256 MiB). */
  maxBytesPerOwner?: number;
  /** Unfinished input bytes all owners together may hold (default 1 GiB). */
  maxBytesTotal?: number;
}

export const PAYLOAD_BUDGET_DEFAULTS = { maxBytesPerOwner: 256 * 1024 * 1024, maxBytesTotal: 1024 * 1024 * 1024 } as const;

export class PayloadBudget {
  private readonly perOwner: number;
  private readonly total: number;
  private readonly byOwner = new Map<string, number>();
  private readonly held = new Map<string, { owner: string; bytes: number }>();
  private sum = 0;

  constructor(options: PayloadBudgetOptions = {}) {
    this.perOwner = options.maxBytesPerOwner ?? PAYLOAD_BUDGET_DEFAULTS.maxBytesPerOwner;
    this.total = options.maxBytesTotal ?? PAYLOAD_BUDGET_DEFAULTS.maxBytesTotal;
  }

  /** Throws ResourceExhaustedError when `bytes` more would pass a limit; a task holds at most one reservation. */
  check(owner: string, bytes: number): void {
    const mine = this.byOwner.get(owner) ?? 0;
    if (mine + bytes > this.perOwner) {
      throw new ResourceExhaustedError(`too much queued work: ${mine + bytes} bytes of unfinished task input for this caller (limit ${this.perOwner}); retry when some tasks have finished`);
    }
    if (this.sum + bytes > this.total) {
      throw new ResourceExhaustedError(`the master holds too much unfinished task input (limit ${this.total} bytes); retry shortly`);
    }
  }

  /** Records what a created task holds (after check()). */
  reserve(taskId: string, owner: string, bytes: number): void {
    if (bytes <= 0 || this.held.has(taskId)) return;
    this.held.set(taskId, { owner, bytes });
    this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + bytes);
    this.sum += bytes;
  }

  /**
   * Counts the bytes of a task queued as a compact entry (core/cold-tasks.ts)
   * without an entry per task; `hold` gives it one when it leaves the queue.
   */
  reserveCold(owner: string, bytes: number): void {
    if (bytes <= 0) return;
    this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + bytes);
    this.sum += bytes;
  }

  /** The entry of bytes already counted by `reserveCold`, released as any reservation. */
  hold(taskId: string, owner: string, bytes: number): void {
    if (bytes > 0 && !this.held.has(taskId)) this.held.set(taskId, { owner, bytes });
  }

  /** The task finished (succeeded, failed, cancelled, expired): its bytes are free again. Idempotent. */
  release(taskId: string): void {
    const h = this.held.get(taskId);
    if (!h) return;
    this.held.delete(taskId);
    const left = (this.byOwner.get(h.owner) ?? 0) - h.bytes;
    if (left > 0) this.byOwner.set(h.owner, left);
    else this.byOwner.delete(h.owner);
    this.sum -= h.bytes;
  }

  /**
   * A request of `declared` bytes that cannot hold an input fitting what
   * `owner` may still submit (the body bounds the input from above; `slack`
   * for its other fields) is refused now, before its body is read.
   */
  checkDeclared(owner: string, declared: number, slack: number): void {
    const mine = this.byOwner.get(owner) ?? 0;
    if (declared - slack > this.perOwner - mine) {
      throw new ResourceExhaustedError(`too much queued work: ${mine} bytes of unfinished task input for this caller and a request of ${declared} bytes (limit ${this.perOwner}); retry when some tasks have finished`);
    }
    if (declared - slack > this.total - this.sum) {
      throw new ResourceExhaustedError(`the master holds too much unfinished task input (limit ${this.total} bytes); retry shortly`);
    }
  }

  heldBy(owner: string): number {
    return this.byOwner.get(owner) ?? 0;
  }

  get totalBytes(): number {
    return this.sum;
  }
}
