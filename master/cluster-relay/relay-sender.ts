/**
 * The running master's side of the chunk relay: for each streamed task this
 * master dispatches, which other masters have a client interested in it
 * (the interest table, looked up once per turn for the tasks assigned in
 * it, and told of later interests by NOTIFY), and then its chunks and its
 * end to each of them, batched per target master and event-loop turn.
 * A master found at the lookup, or with a new follower of the task later,
 * first gets what was streamed so far as one merged chunk (from the live
 * output's tail), then the rest.
 * Listens to the task event stream; the core does not know it.
 */
import type { Logger } from '../../common/logger.js';
import { FINAL_EVENT_TYPES, type TaskEvents } from '../core/task-events.js';
import { MAX_MESSAGE_CHARS, encodeRelay, type RelayItem } from './relay-wire.js';
import { sessionKey, taskKey } from './watch-table.js';

export interface RelaySenderOptions {
  me: string;
  events: TaskEvents;
  /** The other masters interested in these keys (watch-table.ts). */
  lookup: (keys: readonly string[]) => Promise<Map<string, string[]>>;
  /** Publishes one message to a master's relay topic; false when it could not be sent (broker out of reach). */
  publish: (target: string, payload: Buffer) => boolean;
  /** What a task streamed so far (its current attempt's text tail), for a master interested mid-stream. */
  peek: (taskId: string) => { attempt: number; seq: number; text: string } | undefined;
  /** The live masters (undefined: not known yet); rows of others are ignored. */
  liveMasters?: () => readonly string[] | undefined;
  log: Logger;
}

interface Tracked {
  sessionId: string | null;
  /** Null while the lookup is out. */
  targets: Set<string> | null;
  /** Interests announced while the lookup was out. */
  early?: Set<string>;
}

export class RelaySender {
  private readonly tracked = new Map<string, Tracked>();
  private readonly bySession = new Map<string, Set<string>>();
  private lookupQueue: string[] = [];
  private lookupScheduled = false;
  private readonly outgoing = new Map<string, { items: RelayItem[]; chars: number }>();
  private flushScheduled = false;
  private readonly off: (() => void)[];
  private lastLookupWarn = 0;
  readonly stats = { lookups: 0, relayedChunks: 0, relayedDone: 0, messages: 0, dropped: 0, catchUps: 0 };

  constructor(private readonly o: RelaySenderOptions) {
    const ev = o.events;
    this.off = [
      ev.on('task.assigned', (e, t) => {
        if (!t.stream || this.tracked.has(e.task_id)) return; // a retry keeps its targets
        this.track(e.task_id, e.session_id);
      }),
      ev.on('task.chunk', (e) => {
        const entry = this.tracked.get(e.task_id);
        if (!entry?.targets || entry.targets.size === 0) return;
        const item: RelayItem = { type: 'chunk', task_id: e.task_id, session_id: e.session_id, attempt: e.attempt, seq: e.chunk_seq, text: e.text, data: e.data ?? null };
        for (const target of entry.targets) this.enqueue(target, item, e.text.length);
        this.stats.relayedChunks++;
      }),
      ev.on(FINAL_EVENT_TYPES, (e) => {
        const entry = this.tracked.get(e.task_id);
        if (!entry) return;
        this.untrack(e.task_id, entry);
        if (!entry.targets) return; // ended before the lookup came back: the interested master reads the final from the outbox
        for (const target of entry.targets) this.enqueue(target, { type: 'done', task_id: e.task_id, session_id: e.session_id }, 0);
        if (entry.targets.size > 0) this.stats.relayedDone++;
      }),
    ];
  }

  /** Streamed tasks running here that are being looked up or relayed. */
  get size(): number {
    return this.tracked.size;
  }

  /**
   * Another master announced an interest (NOTIFY of the watch table). A new
   * follower of the task gets the text so far first; a session's socket that
   * came to that master mid-stream (a browser that reconnected there) only
   * the chunks from now on: it may hold the earlier ones already.
   */
  interest(key: string, master: string): void {
    if (key.startsWith('t:')) this.addTarget(key.slice(2), master, true);
    else if (key.startsWith('s:')) for (const id of this.bySession.get(key.slice(2)) ?? []) this.addTarget(id, master, false);
  }

  private track(id: string, sessionId: string | null): void {
    this.tracked.set(id, { sessionId, targets: null });
    if (sessionId !== null) {
      let set = this.bySession.get(sessionId);
      if (!set) this.bySession.set(sessionId, (set = new Set()));
      set.add(id);
    }
    this.lookupQueue.push(id);
    if (this.lookupScheduled) return;
    this.lookupScheduled = true;
    setImmediate(() => void this.runLookup());
  }

  private untrack(id: string, entry: Tracked): void {
    this.tracked.delete(id);
    if (entry.sessionId === null) return;
    const set = this.bySession.get(entry.sessionId);
    set?.delete(id);
    if (set?.size === 0) this.bySession.delete(entry.sessionId);
  }

  /** One query for the tasks assigned in the last turn(s). */
  private async runLookup(): Promise<void> {
    this.lookupScheduled = false;
    const ids = this.lookupQueue.filter((id) => this.tracked.get(id)?.targets === null);
    this.lookupQueue = [];
    if (ids.length === 0) return;
    const keys = new Set<string>();
    for (const id of ids) {
      keys.add(taskKey(id));
      const s = this.tracked.get(id)!.sessionId;
      if (s !== null) keys.add(sessionKey(s));
    }
    let found = new Map<string, string[]>();
    this.stats.lookups++;
    try {
      found = await this.o.lookup([...keys]);
    } catch (err) {
      if (Date.now() - this.lastLookupWarn > 60_000) {
        this.lastLookupWarn = Date.now();
        this.o.log.warn({ err: (err as Error).message }, 'chunk relay: interest lookup failed (chunks of these tasks stay on this master; finals reach the others through the event outbox)');
      }
    }
    for (const id of ids) {
      const entry = this.tracked.get(id);
      if (!entry || entry.targets !== null) continue;
      const targets = [...(found.get(taskKey(id)) ?? []), ...(entry.sessionId !== null ? (found.get(sessionKey(entry.sessionId)) ?? []) : []), ...(entry.early ?? [])];
      entry.targets = new Set();
      entry.early = undefined;
      for (const t of targets) this.addTarget(id, t, true); // nothing of it went anywhere yet: what came meanwhile first
    }
  }

  private addTarget(id: string, master: string, catchUp: boolean): void {
    const entry = this.tracked.get(id);
    if (!entry || master === this.o.me) return;
    if (entry.targets === null) {
      (entry.early ??= new Set()).add(master);
      return;
    }
    if (entry.targets.has(master)) return;
    const live = this.o.liveMasters?.();
    if (live && live.length > 0 && !live.includes(master)) return;
    entry.targets.add(master);
    if (!catchUp) return;
    // What came before: one merged chunk of the attempt's text so far.
    const snap = this.o.peek(id);
    if (snap && snap.seq >= 0 && snap.text.length > 0) {
      this.stats.catchUps++;
      this.enqueue(master, { type: 'chunk', task_id: id, session_id: entry.sessionId, attempt: snap.attempt, seq: snap.seq, text: snap.text, data: null }, snap.text.length);
    }
  }

  private enqueue(target: string, item: RelayItem, chars: number): void {
    let out = this.outgoing.get(target);
    if (!out) this.outgoing.set(target, (out = { items: [], chars: 0 }));
    out.items.push(item);
    out.chars += chars + 64;
    if (out.chars >= MAX_MESSAGE_CHARS) this.send(target);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const target of [...this.outgoing.keys()]) this.send(target);
  }

  private send(target: string): void {
    const out = this.outgoing.get(target);
    if (!out || out.items.length === 0) return;
    this.outgoing.delete(target);
    if (this.o.publish(target, encodeRelay(this.o.me, out.items))) this.stats.messages++;
    else this.stats.dropped += out.items.length; // the broker is out of reach: finals come through the outbox
  }

  close(): void {
    for (const u of this.off) u();
    this.tracked.clear();
    this.bySession.clear();
    this.outgoing.clear();
  }
}
