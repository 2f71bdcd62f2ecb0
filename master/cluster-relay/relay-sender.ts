/**
 * The running master's side of the chunk relay: for each streamed task this
 * master dispatches, which other masters have a client interested in it
 * (the interest table, looked up once per turn for the tasks assigned in
 * it, and told of later interests by NOTIFY), and then its chunks and its
 * end to each of them, batched per target master and event-loop turn.
 * A master found at the lookup, or with a new follower of the task later,
 * first gets what was streamed so far as one merged chunk (from the live
 * output's tail), then the rest.
 * A browser session's tasks (streamed or not) also carry their `task:update`
 * views (assigned, started, retried), and a bounded buffer of their current
 * attempt's chunks, one by one: a session whose socket comes to another
 * master mid-stream (a browser that reconnected there) gets the last view and
 * the buffered chunks first; the browser drops the ones it has by `seq`.
 * Listens to the task event stream; the core does not know it.
 */
import type { Logger } from '../../common/logger.js';
import { FINAL_EVENT_TYPES, type TaskEvents } from '../core/task-events.js';
import { taskView } from '../core/task-record.js';
import { MAX_MESSAGE_CHARS, encodeRelay, type RelayItem, type RelayedUpdate } from './relay-wire.js';
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
  /** Chunk text buffered per session task for a browser that comes back on another master (default 64 Ki characters: the oldest go first). */
  maxBufferChars?: number;
}

/** What a master that becomes interested is sent first: the text so far merged (`snapshot`), or a session's last view and buffered chunks. */
type CatchUp = 'snapshot' | 'session';

type ChunkItem = Extract<RelayItem, { type: 'chunk' }>;

interface Tracked {
  sessionId: string | null;
  /** Null while the lookup is out. */
  targets: Set<string> | null;
  /** Interests announced while the lookup was out. */
  early?: Map<string, CatchUp>;
  /** A session task's last `task:update` view. */
  view?: RelayedUpdate;
  /** A session task's chunks of its current attempt (bounded; the oldest go first). */
  buffer?: { items: ChunkItem[]; chars: number };
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

  private readonly maxBufferChars: number;
  /** Masters seen in the live list at some point (gone(): a master not in it now that was). */
  private readonly seenLive = new Set<string>();

  constructor(private readonly o: RelaySenderOptions) {
    this.maxBufferChars = o.maxBufferChars ?? 64 * 1024;
    const ev = o.events;
    this.off = [
      ev.on('task.assigned', (e, t) => {
        if ((!t.stream && !e.session_id) || this.tracked.has(e.task_id)) return; // a retry keeps its targets
        this.track(e.task_id, e.session_id);
      }),
      // A session task's status views, as this master's own sockets get them (http/socket-gateway.ts).
      ev.on(['task.assigned', 'task.started', 'task.retried'], (e, t) => {
        const entry = this.tracked.get(e.task_id);
        if (!entry || !e.session_id) return;
        if (e.type === 'task.retried') entry.buffer = undefined; // the next attempt's text replaces it
        entry.view = { type: 'update', task_id: e.task_id, session_id: e.session_id, view: taskView(t) as unknown as RelayedUpdate['view'] };
        for (const target of entry.targets ?? []) this.enqueue(target, entry.view, 256);
      }),
      ev.on('task.chunk', (e) => {
        const entry = this.tracked.get(e.task_id);
        if (!entry) return;
        const item: ChunkItem = { type: 'chunk', task_id: e.task_id, session_id: e.session_id, attempt: e.attempt, seq: e.chunk_seq, text: e.text, data: e.data ?? null };
        if (entry.sessionId !== null) this.buffer(entry, item);
        if (!entry.targets || entry.targets.size === 0) return;
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
    if (key.startsWith('t:')) this.addTarget(key.slice(2), master, 'snapshot');
    else if (key.startsWith('s:')) for (const id of this.bySession.get(key.slice(2)) ?? []) this.addTarget(id, master, 'session');
  }

  /** Keeps a session task's chunk for a browser that comes back elsewhere; a new attempt starts over. */
  private buffer(entry: Tracked, item: ChunkItem): void {
    let b = entry.buffer;
    if (b && b.items.length > 0 && b.items[0]!.attempt !== item.attempt) b = undefined;
    if (!b) entry.buffer = b = { items: [], chars: 0 };
    b.items.push(item);
    b.chars += item.text.length;
    while (b.chars > this.maxBufferChars && b.items.length > 1) b.chars -= b.items.shift()!.text.length;
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
      // Nothing of it went anywhere yet: what came meanwhile first (a session's view and chunks one by one, else the text merged).
      const targets = new Map<string, CatchUp>();
      for (const t of found.get(taskKey(id)) ?? []) targets.set(t, 'snapshot');
      for (const t of entry.sessionId !== null ? (found.get(sessionKey(entry.sessionId)) ?? []) : []) targets.set(t, 'session');
      for (const [t, c] of entry.early ?? []) if (c === 'session' || !targets.has(t)) targets.set(t, c);
      entry.targets = new Set();
      entry.early = undefined;
      for (const [t, c] of targets) this.addTarget(id, t, c);
    }
  }

  /**
   * A master that was live and is no more (its interest rows outlive it by
   * their lease). One this master has not seen live yet is not gone: it may
   * have joined since the last membership round (a quarter lease), and its
   * row is fresh (the lookup reads unexpired rows only).
   */
  private gone(master: string): boolean {
    const live = this.o.liveMasters?.();
    if (!live || live.length === 0) return false;
    for (const m of live) this.seenLive.add(m);
    return this.seenLive.has(master) && !live.includes(master);
  }

  private addTarget(id: string, master: string, catchUp: CatchUp): void {
    const entry = this.tracked.get(id);
    if (!entry || master === this.o.me) return;
    if (entry.targets === null) {
      const early = (entry.early ??= new Map());
      if (early.get(master) !== 'session') early.set(master, catchUp);
      return;
    }
    if (this.gone(master)) return;
    if (catchUp === 'session' && entry.sessionId !== null) {
      // A session's (first) socket on that master: its last view and the chunks so far, one by one,
      // also when that master is a target already (the browser left it and came back; the receiver drops what it handed on).
      entry.targets.add(master);
      if (entry.view) this.enqueue(master, entry.view, 256);
      for (const c of entry.buffer?.items ?? []) this.enqueue(master, c, c.text.length);
      if (entry.buffer && entry.buffer.items.length > 0) this.stats.catchUps++;
      return;
    }
    if (entry.targets.has(master)) return;
    entry.targets.add(master);
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
