/**
 * Ack before events: a browser always learns a task id from its
 * `task:submit` ack before any update, chunk or result of that task (the
 * chat needs no parking of its own).
 *
 * While a submit of a session is outstanding, the events of the session's
 * tasks whose ack has not gone out are held, per task, in order; a task's
 * held events follow its ack at once (`acked`). Events of tasks already
 * acknowledged are never held, so a session with a submit always in flight
 * (a client streaming submits) gets each answer as soon as it is there, not
 * when its submits happen to pause. When no submit of the session is
 * outstanding any more, whatever is still held (a refused submit's, a task
 * submitted elsewhere) is sent.
 */
interface SessionState {
  /** Submits of the session being acknowledged. */
  pending: number;
  /** Held events by task, in order (tasks in the order first held). */
  held: Map<string, (() => void)[]>;
  heldCount: number;
  /** Unfinished tasks of the session whose ack went out (bounded; oldest forgotten first). */
  acked: Set<string>;
}

export class SessionOutbox {
  private readonly sessions = new Map<string, SessionState>();

  /**
   * @param maxHeld most events held for one session (a bound, not a loss: beyond it all are sent, in order per task)
   * @param maxAcked most acknowledged unfinished tasks remembered per session; a forgotten one's events are held like an unknown task's (later, never out of order)
   */
  constructor(
    private readonly maxHeld = 10_000,
    private readonly maxAcked = 10_000,
  ) {}

  /** Sends a task's event now, or after its ack when a submit of the session is outstanding. */
  send(sessionId: string, taskId: string, emit: () => void): void {
    const s = this.sessions.get(sessionId);
    if (!s || s.pending === 0 || s.acked.has(taskId)) return emit();
    const queue = s.held.get(taskId);
    if (queue) queue.push(emit);
    else s.held.set(taskId, [emit]);
    if (++s.heldCount > this.maxHeld) this.flushAll(s);
  }

  /** A submit of this session starts: hold the events of tasks not yet acknowledged. */
  hold(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (s) s.pending++;
    else this.sessions.set(sessionId, { pending: 1, held: new Map(), heldCount: 0, acked: new Set() });
  }

  /**
   * A task's ack went out: its held events follow now, and later ones are not
   * held (`unfinished` false: it was final already, nothing more will come).
   */
  acked(sessionId: string, taskId: string, unfinished = true): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    if (unfinished) {
      s.acked.add(taskId);
      if (s.acked.size > this.maxAcked) s.acked.delete(s.acked.values().next().value as string);
    }
    const queue = s.held.get(taskId);
    if (!queue) return;
    s.held.delete(taskId);
    s.heldCount -= queue.length;
    for (const emit of queue) emit();
  }

  /** A session task's final event was sent: it is no longer remembered. */
  finished(sessionId: string, taskId: string): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    s.acked.delete(taskId);
    this.forgetIdle(sessionId, s);
  }

  /** That submit is acknowledged (or failed): once none is outstanding, everything still held is sent. */
  release(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (!s) return;
    if (--s.pending > 0) return;
    s.pending = 0;
    this.flushAll(s);
    this.forgetIdle(sessionId, s);
  }

  /** Sessions remembered (for tests and bounds). */
  get size(): number {
    return this.sessions.size;
  }

  private flushAll(s: SessionState): void {
    const held = [...s.held.values()];
    s.held.clear();
    s.heldCount = 0;
    for (const queue of held) for (const emit of queue) emit();
  }

  private forgetIdle(sessionId: string, s: SessionState): void {
    if (s.pending === 0 && s.acked.size === 0) this.sessions.delete(sessionId);
  }
}
