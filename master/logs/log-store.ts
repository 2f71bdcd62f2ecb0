/**
 * Where kept log lines live: appended in order with a monotonic id, read
 * back as filtered pages, bounded by age (retention) and by bytes.
 * `MemoryLogStore` (no data dir) is a ring; `SqliteLogStore` keeps
 * `logs.db` in the data dir with a full-text index; `PostgresLogStore`
 * keeps every master's lines in the task store's PostgreSQL (shared: `tail`).
 */
import { entryBytes, entryMatches, type LogEntry, type LogPageRequest, type NewLogEntry } from './log-entry.js';

export interface LogStore {
  /** Appends in order; returns the entries with their ids (a shared store: none, see `tail`). */
  append(lines: readonly NewLogEntry[]): LogEntry[];
  /** One page: newest first by default, oldest first with `afterId`. */
  page(req: LogPageRequest): LogEntry[] | Promise<LogEntry[]>;
  /**
   * A shared store (several masters append): every master's lines, in id
   * order, once each, after they are kept. The collector then feeds its
   * followers from here rather than from its own appends.
   */
  tail?(onEntries: (entries: LogEntry[]) => void): void;
  readonly lastId: number;
  /** Drops lines older than the cutoff and the oldest ones past the byte bound; resolves with how many. */
  prune(beforeTs: number): Promise<number>;
  close(): Promise<void>;
}

export interface LogBounds {
  maxBytes: number;
}

export class MemoryLogStore implements LogStore {
  /** entries[head..] are kept; ids are consecutive. */
  private entries: LogEntry[] = [];
  private head = 0;
  private bytes = 0;
  private next = 1;

  constructor(private readonly bounds: LogBounds) {}

  get lastId(): number {
    return this.next - 1;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  append(lines: readonly NewLogEntry[]): LogEntry[] {
    const out: LogEntry[] = [];
    for (const l of lines) {
      const e: LogEntry = { ...l, tenant: l.tenant ?? null, owner: l.owner ?? null, id: this.next++ };
      this.entries.push(e);
      this.bytes += entryBytes(e);
      out.push(e);
    }
    while (this.bytes > this.bounds.maxBytes && this.size > 0) this.dropOldest();
    return out;
  }

  private dropOldest(): void {
    this.bytes -= entryBytes(this.entries[this.head++]!);
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Index of the entry with this id (clamped to the kept range). */
  private indexOf(id: number): number {
    const first = this.entries[this.head]?.id ?? this.next;
    return this.head + Math.min(Math.max(id - first, 0), this.size);
  }

  page(req: LogPageRequest): LogEntry[] {
    const out: LogEntry[] = [];
    const from = req.afterId !== undefined ? this.indexOf(req.afterId + 1) : this.head;
    const to = req.beforeId !== undefined ? this.indexOf(req.beforeId) : this.entries.length;
    if (req.afterId !== undefined) {
      for (let i = from; i < to && out.length < req.limit; i++) if (entryMatches(this.entries[i]!, req.filter)) out.push(this.entries[i]!);
      return out;
    }
    for (let i = to - 1; i >= from && out.length < req.limit; i--) if (entryMatches(this.entries[i]!, req.filter)) out.push(this.entries[i]!);
    return out;
  }

  async prune(beforeTs: number): Promise<number> {
    let n = 0;
    while (this.size > 0 && this.entries[this.head]!.ts < beforeTs) {
      this.dropOldest();
      n++;
    }
    return n;
  }

  async close(): Promise<void> {}
}
