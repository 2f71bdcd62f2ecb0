/**
 * The streamed output of running tasks, for the dashboard's task page: the
 * text of each running task's current attempt (its `task.chunk` events, in
 * order), kept from its first chunk to its end so a page opened mid-stream
 * shows what came so far, and handed live to whoever watches the task.
 * Bounded: the last MAX_TASK_CHARS characters per task and at most
 * MAX_TASKS tasks (the oldest-started is dropped first); forgotten when the
 * task ends. Listens to the task event stream; the core does not know it.
 */
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import { FINAL_EVENT_TYPES, type TaskEvents } from '../core/task-events.js';
import type { TaskRecord } from '../core/task-record.js';

export interface LiveOutputOptions {
  /** Characters kept per task (the tail; default 64 Ki). */
  maxTaskChars?: number;
  /** Tasks kept at once (default 1000). */
  maxTasks?: number;
}

export const LIVE_OUTPUT_DEFAULTS = { maxTaskChars: 65536, maxTasks: 1000 } as const;

/** What a watcher is told. */
export interface OutputWatcher {
  /** A chunk of the attempt (a higher attempt than before: the earlier text is void). */
  chunk(attempt: number, seq: number, text: string): void;
  /** The task ended (its final record). */
  done(task: TaskRecord): void;
}

export interface OutputSnapshot {
  attempt: number;
  /** The last chunk's seq (-1: none yet). */
  seq: number;
  text: string;
  /** True when the start was dropped (more than maxTaskChars came). */
  truncated: boolean;
}

interface Entry extends OutputSnapshot {
  watchers: Set<OutputWatcher>;
}

export class LiveOutput {
  private readonly entries = new Map<string, Entry>();
  private readonly o: Required<LiveOutputOptions>;
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly events: TaskEvents,
    private readonly getTask: (id: string) => TaskRecord | undefined,
    options: LiveOutputOptions = {},
  ) {
    this.o = { ...LIVE_OUTPUT_DEFAULTS, ...options };
    this.unsubscribe = [
      events.on('task.chunk', (e) => this.chunk(e.task_id, e.attempt, e.chunk_seq, e.text)),
      events.on(FINAL_EVENT_TYPES, (_e, t) => this.finished(t)),
    ];
  }

  /** A chunk of a task's output (from this master's event stream, or relayed from the master that runs it). */
  chunk(id: string, attempt: number, seq: number, text: string): void {
    if (!text) return;
    let entry = this.entries.get(id);
    if (!entry) entry = this.add(id, attempt);
    if (attempt > entry.attempt) Object.assign(entry, { attempt, seq: -1, text: '', truncated: false });
    else if (attempt < entry.attempt || seq <= entry.seq) return; // a late or repeated chunk
    entry.seq = seq;
    entry.text += text;
    if (entry.text.length > this.o.maxTaskChars) {
      entry.text = entry.text.slice(entry.text.length - this.o.maxTaskChars);
      entry.truncated = true;
    }
    for (const w of entry.watchers) w.chunk(attempt, seq, text);
  }

  /** The task ended (here, or on the master that ran it). */
  finished(t: TaskRecord): void {
    const entry = this.entries.get(t.id);
    if (!entry) return;
    this.entries.delete(t.id);
    if (entry.watchers.size > 0) this.interest?.(t.id, false);
    for (const w of entry.watchers) w.done(t);
  }

  /** The output kept for a task now (a copy), without watching it. */
  peek(id: string): OutputSnapshot | undefined {
    const e = this.entries.get(id);
    return e && { attempt: e.attempt, seq: e.seq, text: e.text, truncated: e.truncated };
  }

  /** Multi-master chunk relay: told when a task gets its first watcher here (on) and loses its last (off). */
  useInterest(interest: (id: string, on: boolean) => void): void {
    this.interest = interest;
  }

  private interest: ((id: string, on: boolean) => void) | undefined;

  private add(id: string, attempt: number): Entry {
    if (this.entries.size >= this.o.maxTasks) {
      // The oldest unwatched one goes (a watched one stays: bounded by the connections).
      for (const [oldest, e] of this.entries) {
        if (e.watchers.size > 0) continue;
        this.entries.delete(oldest);
        break;
      }
    }
    const entry: Entry = { attempt, seq: -1, text: '', truncated: false, watchers: new Set() };
    this.entries.set(id, entry);
    return entry;
  }

  /** Tasks with output kept now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The output so far and a subscription to the rest; a task already ended
   * gets `done` at once (and undefined). Returns the snapshot and the unsubscribe.
   */
  watch(id: string, watcher: OutputWatcher): { snapshot: OutputSnapshot | undefined; stop: () => void } {
    const t = this.getTask(id);
    if (!t || TERMINAL_STATUSES.has(t.status)) {
      if (t) watcher.done(t);
      return { snapshot: undefined, stop: () => undefined };
    }
    const entry = this.entries.get(id) ?? this.add(id, t.attempt);
    entry.watchers.add(watcher);
    if (entry.watchers.size === 1) this.interest?.(id, true);
    const { attempt, seq, text, truncated } = entry;
    return {
      snapshot: { attempt, seq, text, truncated },
      stop: () => {
        if (entry.watchers.delete(watcher) && entry.watchers.size === 0 && this.entries.get(id) === entry) this.interest?.(id, false);
        // An entry made for a watcher of a task that never streamed goes with its last watcher.
        if (entry.watchers.size === 0 && entry.seq < 0 && this.entries.get(id) === entry) this.entries.delete(id);
      },
    };
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    this.entries.clear();
  }
}
