/**
 * Task deadlines (queue timeout, lease/heartbeat expiry, run timeout, retry
 * backoff, cancel grace), checked by a single unref'd timer. The handler
 * checks that a due entry still applies (same attempt, lease not renewed),
 * so renewals need no removal; `clear()` drops a task's entries when they can
 * no longer apply (the task finished, its attempt ended), so only live
 * tasks' deadlines are held, not hours of dead ones.
 *
 * A hashed timing wheel (Varghese & Lauck; Netty's HashedWheelTimer, Kafka's
 * purgatory): an entry sits in the slot of its due tick in an intrusive
 * doubly linked list, so add and clear are O(1) with no reordering (the
 * min-heap this replaces cost ~5 us of the master's CPU per task). Each run
 * scans the slots of the ticks that passed; an entry a whole turn or more
 * ahead stays in its slot until its turn. Due entries fire in deadline
 * order, as they did from the heap; an entry added while firing that is
 * already due fires in the same run.
 */
import type { Clock } from '../../common/clock.js';

export type DeadlineKind = 'queue' | 'lease' | 'run' | 'retry' | 'cancel';

export interface Deadline {
  atMs: number;
  taskId: string;
  kind: DeadlineKind;
  attempt: number;
}

interface Entry extends Deadline {
  /** Neighbours in its slot's list (null at the ends). */
  prev: Entry | null;
  next: Entry | null;
  /** Its slot, or -1 once out of the wheel (fired, cleared or about to fire). */
  slot: number;
  /** The task's next entry (a task has a few at most). */
  sameTask: Entry | null;
  /** Cleared after it was taken out to fire: skipped. */
  dead: boolean;
}

/** Slots per turn (a power of two); with 50 ms ticks a turn is ~205 s. */
const SLOTS = 4096;

export class Deadlines {
  private readonly slots: (Entry | null)[] = new Array<Entry | null>(SLOTS).fill(null);
  /** The first entry of each task's list. */
  private readonly byTask = new Map<string, Entry>();
  /** The tick the last run reached (its slot is scanned again: entries later in that tick). */
  private cursor: number;
  private count = 0;
  /** Set while firing: the run's time, so that entries added then and already due fire in the same run. */
  private firingAt: number | undefined;
  private dueWhileFiring = false;
  private timer: NodeJS.Timeout | undefined;
  /** Runs after every check with its time: the queue deadlines of compact entries (cold-tasks.ts) share the timer. */
  afterRun: ((now: number) => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (d: Deadline) => void,
    private readonly tickMs = 50,
  ) {
    this.cursor = Math.floor(clock.now() / tickMs);
  }

  get size(): number {
    return this.count;
  }

  add(d: Deadline): void {
    const e: Entry = { atMs: d.atMs, taskId: d.taskId, kind: d.kind, attempt: d.attempt, prev: null, next: null, slot: -1, sameTask: null, dead: false };
    // A deadline already past goes in the slot the next run scans first.
    this.link(e, Math.max(Math.floor(e.atMs / this.tickMs), this.cursor) & (SLOTS - 1));
    e.sameTask = this.byTask.get(e.taskId) ?? null;
    this.byTask.set(e.taskId, e);
    this.count++;
    if (this.firingAt !== undefined && e.atMs <= this.firingAt) this.dueWhileFiring = true;
  }

  /** Drops a task's pending deadlines (of the given kinds, or all). */
  clear(taskId: string, kinds?: readonly DeadlineKind[]): void {
    let e = this.byTask.get(taskId);
    let keep: Entry | null = null;
    while (e) {
      const next = e.sameTask;
      if (kinds && !kinds.includes(e.kind)) {
        e.sameTask = keep;
        keep = e;
      } else {
        this.unlink(e);
        e.dead = true;
        e.sameTask = null;
        this.count--;
      }
      e = next ?? undefined;
    }
    if (keep) this.byTask.set(taskId, keep);
    else this.byTask.delete(taskId);
  }

  /** Fires every due entry (also callable directly by tests with a fake clock). */
  runDue(): number {
    const now = this.clock.now();
    const nowTick = Math.floor(now / this.tickMs);
    // Every slot once at most (a long pause), from the cursor's to now's.
    const last = Math.min(nowTick, this.cursor + SLOTS - 1);
    let due = this.collect(this.cursor, last, now);
    this.cursor = Math.max(this.cursor, nowTick);
    let n = 0;
    while (due.length > 0) {
      due.sort((a, b) => a.atMs - b.atMs);
      this.firingAt = now;
      this.dueWhileFiring = false;
      try {
        for (const e of due) {
          if (e.dead) continue;
          this.forget(e);
          this.onDue(e);
          n++;
        }
      } finally {
        this.firingAt = undefined;
      }
      due = this.dueWhileFiring ? this.collect(this.cursor, this.cursor, now) : [];
    }
    this.afterRun?.(now);
    return n;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.runDue(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes the entries due by `now` out of the slots of ticks first..last. */
  private collect(first: number, last: number, now: number): Entry[] {
    const due: Entry[] = [];
    for (let t = first; t <= last; t++) {
      for (let e = this.slots[t & (SLOTS - 1)]!; e !== null; ) {
        const next = e.next;
        if (e.atMs <= now) {
          this.unlink(e);
          due.push(e);
        }
        e = next!;
      }
    }
    return due;
  }

  private link(e: Entry, slot: number): void {
    const head = this.slots[slot]!;
    e.slot = slot;
    e.prev = null;
    e.next = head;
    if (head) head.prev = e;
    this.slots[slot] = e;
  }

  private unlink(e: Entry): void {
    if (e.slot < 0) return;
    if (e.prev) e.prev.next = e.next;
    else this.slots[e.slot] = e.next;
    if (e.next) e.next.prev = e.prev;
    e.prev = e.next = null;
    e.slot = -1;
  }

  /** Takes a fired entry off its task's list. */
  private forget(e: Entry): void {
    let prev: Entry | null = null;
    for (let x = this.byTask.get(e.taskId) ?? null; x !== null; prev = x, x = x.sameTask) {
      if (x !== e) continue;
      if (prev) prev.sameTask = x.sameTask;
      else if (x.sameTask) this.byTask.set(e.taskId, x.sameTask);
      else this.byTask.delete(e.taskId);
      break;
    }
    e.sameTask = null;
    this.count--;
  }
}

/** Exponential backoff with full jitter in [base/2, base] * 2^(attempt-1), capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
