/**
 * LogCollector: keeps the master's own log lines (a tee in front of its MQTT
 * log sink) and every worker's (from `{root}/logs/{worker id}`) in a
 * LogStore, and hands new lines to live followers (`GET /api/v1/logs?follow=true`).
 * The topic names the source (the broker lets a worker publish only to its
 * own log topic), not the payload. Messages are cut to 8 KiB and scrubbed of
 * anything that looks like a credential; at most 5000 lines per 100 ms are
 * taken (the rest are counted in `dropped`), so a flooding worker cannot
 * grow the master's memory. Never logs about the lines it keeps (no loops).
 * On a shared store (PostgreSQL: several masters) followers get every
 * master's lines, from the store's tail. Each line gets its tenant and owner
 * when it is taken (log-tenancy.ts), so a tenant's key reads its own lines.
 */
import type { LogLineSink } from '../../common/logger.js';
import type { LogLine } from '../../common/wire.js';
import { entryMatches, LOG_LEVEL_NAMES, type LogEntry, type LogFilter, type LogLevelName, type NewLogEntry } from './log-entry.js';
import { redactSecrets } from './log-redaction.js';
import type { LogStore } from './log-store.js';
import { NO_LOG_TENANCY, type LogTenancy } from './log-tenancy.js';

export interface LogCollectorOptions {
  /** How long lines are kept, ms. */
  retentionMs: number;
  /** How often retention and the byte bound are applied, ms (default 30 s). */
  pruneIntervalMs?: number;
  now: () => number;
  /** Whose a line is (default: every line a cluster line). */
  tenancy?: LogTenancy;
}

export const MAX_LOG_MSG_CHARS = 8192;
const WINDOW_MS = 100;
const MAX_LINES_PER_WINDOW = 5000;

export interface LogFollower {
  filter: LogFilter;
  deliver: (entries: LogEntry[]) => void;
}

export class LogCollector {
  private pending: NewLogEntry[] = [];
  private scheduled = false;
  private windowStart = 0;
  private windowLines = 0;
  private readonly followers = new Set<LogFollower>();
  private readonly pruneTimer: NodeJS.Timeout;
  private pruning = false;
  private closed = false;
  /** Lines refused by the rate bound since start. */
  dropped = 0;

  constructor(
    readonly store: LogStore,
    private readonly options: LogCollectorOptions,
  ) {
    store.tail?.((entries) => this.deliver(entries));
    this.pruneTimer = setInterval(() => void this.prune(), options.pruneIntervalMs ?? 30_000);
    this.pruneTimer.unref();
  }

  get followerCount(): number {
    return this.followers.size;
  }

  /** The master's own log sink: keeps each line, then forwards it to MQTT (when the link is up). */
  tee(next: () => LogLineSink | undefined): LogLineSink {
    return {
      publishLog: (line) => {
        this.take(line, line.source || 'master', null);
        next()?.publishLog(line);
      },
    };
  }

  /** A line that arrived on `{root}/logs/{source}` (the master's own are kept by the tee). */
  fromMqtt(source: string, line: LogLine, ownSource = 'master'): void {
    if (source === ownSource) return;
    this.take(line, source, source);
  }

  private take(line: LogLine, source: string, workerId: string | null): void {
    if (this.closed) return;
    const now = this.options.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.windowLines = 0;
    }
    if (++this.windowLines > MAX_LINES_PER_WINDOW) {
      this.dropped++;
      return;
    }
    const parsed = line.ts ? Date.parse(line.ts) : NaN;
    const level = (LOG_LEVEL_NAMES as readonly string[]).includes(line.level ?? '') ? (line.level as LogLevelName) : 'info';
    const msg = redactSecrets((line.msg ?? '').slice(0, MAX_LOG_MSG_CHARS));
    const taskId = line.task_id ? line.task_id.slice(0, 128) : null;
    const { tenant, owner } = (this.options.tenancy ?? NO_LOG_TENANCY)(workerId, taskId);
    this.pending.push({ ts: Number.isFinite(parsed) ? parsed : now, level, source, worker_id: workerId, task_id: taskId, tenant, owner, msg });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Appends what arrived this turn and tells the followers. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    const kept = this.store.append(batch);
    if (!this.store.tail) this.deliver(kept); // a shared store delivers from its tail, every master's lines
  }

  private deliver(kept: LogEntry[]): void {
    for (const f of this.followers) {
      const mine = kept.filter((e) => entryMatches(e, f.filter));
      if (mine.length > 0) f.deliver(mine);
    }
  }

  follow(follower: LogFollower): () => void {
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  async prune(): Promise<number> {
    if (this.pruning || this.closed) return 0;
    this.pruning = true;
    try {
      return await this.store.prune(this.options.now() - this.options.retentionMs);
    } catch {
      return 0; // a failed prune is retried on the next tick
    } finally {
      this.pruning = false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearInterval(this.pruneTimer);
    this.followers.clear();
    await this.store.close();
  }
}
