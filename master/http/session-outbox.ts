/**
 * Ack before events: while a `task:submit` of a session is being acknowledged,
 * the task events for that session are held and sent, in order, right after
 * the ack. So a browser always learns a task id from its ack before any
 * update, chunk or result of that task (the chat needs no parking of its own).
 */
export class SessionOutbox {
  private readonly held = new Map<string, { pending: number; queue: (() => void)[] }>();

  constructor(private readonly maxHeld = 10_000) {}

  /** Sends now, or after the session's outstanding submits are acknowledged. */
  send(sessionId: string, emit: () => void): void {
    const h = this.held.get(sessionId);
    if (!h) return emit();
    if (h.queue.length >= this.maxHeld) this.flush(sessionId, h); // a bound, not a loss: order is kept
    h.queue.push(emit);
  }

  /** A submit of this session starts: hold its events. */
  hold(sessionId: string): void {
    const h = this.held.get(sessionId);
    if (h) h.pending++;
    else this.held.set(sessionId, { pending: 1, queue: [] });
  }

  /** That submit is acknowledged (or failed): send what was held once no other is outstanding. */
  release(sessionId: string): void {
    const h = this.held.get(sessionId);
    if (!h) return;
    if (--h.pending > 0) return;
    this.held.delete(sessionId);
    this.flush(sessionId, h);
  }

  private flush(_sessionId: string, h: { queue: (() => void)[] }): void {
    const queue = h.queue.splice(0);
    for (const emit of queue) emit();
  }
}
