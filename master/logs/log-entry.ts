/**
 * One kept log line (the master's own or a worker's, from `{root}/logs/{source}`)
 * and the filter the log API reads them with. A line carries its tenant
 * (log-tenancy.ts): that of the task it names, or of the one tenant its
 * worker is pinned to; null for a cluster line (operators of tenant
 * `default` only).
 */
export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

/** Numeric rank of a level (pino's numbers); unknown levels count as info. */
export function levelRank(level: string): number {
  const i = (LOG_LEVEL_NAMES as readonly string[]).indexOf(level);
  return i < 0 ? 30 : (i + 1) * 10;
}

export interface LogEntry {
  /** Monotonic id of the store (also across restarts with a data dir). */
  readonly id: number;
  /** Time of the line (ms since the epoch, from the line's `ts`). */
  readonly ts: number;
  readonly level: LogLevelName;
  /** `master` or the worker id that published it. */
  readonly source: string;
  /** The worker the line is from (null for the master's own lines). */
  readonly worker_id: string | null;
  readonly task_id: string | null;
  /** The tenant whose line it is; null: a cluster line (the master's own, a shared worker's not about a task). */
  readonly tenant: string | null;
  /** The key that submitted the task it names (a user key sees the lines of its own tasks only); null otherwise. */
  readonly owner: string | null;
  readonly msg: string;
}

/** A line to append (no tenant or owner given: a cluster line). */
export type NewLogEntry = Omit<LogEntry, 'id' | 'tenant' | 'owner'> & Partial<Pick<LogEntry, 'tenant' | 'owner'>>;

export interface LogFilter {
  /** Lowest level shown (`warn` = warn, error and fatal). */
  minLevel?: LogLevelName;
  workerId?: string;
  source?: string;
  taskId?: string;
  /** ms since the epoch, inclusive. */
  sinceTs?: number;
  /** ms since the epoch, exclusive. */
  untilTs?: number;
  /** Words that must all occur in the message (full-text; a memory store matches substrings). */
  text?: string;
  /** Only this tenant's lines (cluster lines, tenant null, never match). */
  tenant?: string;
  /** Only lines of tasks submitted by one of these keys (a user key's view; lines without an owner never match). */
  owners?: readonly string[];
}

/** A page, newest first (`before` is a cursor: ids below it) or oldest first (`after`: ids above it). */
export interface LogPageRequest {
  filter: LogFilter;
  limit: number;
  beforeId?: number;
  afterId?: number;
}

export function entryMatches(e: LogEntry, f: LogFilter): boolean {
  if (f.minLevel !== undefined && levelRank(e.level) < levelRank(f.minLevel)) return false;
  if (f.workerId !== undefined && e.worker_id !== f.workerId) return false;
  if (f.source !== undefined && e.source !== f.source) return false;
  if (f.taskId !== undefined && e.task_id !== f.taskId) return false;
  if (f.tenant !== undefined && e.tenant !== f.tenant) return false;
  if (f.owners !== undefined && (e.owner === null || !f.owners.includes(e.owner))) return false;
  if (f.sinceTs !== undefined && e.ts < f.sinceTs) return false;
  if (f.untilTs !== undefined && e.ts >= f.untilTs) return false;
  if (f.text !== undefined) {
    const msg = e.msg.toLowerCase();
    const words = textWords(f.text);
    if (words.length === 0) return false;
    for (const word of words) if (!msg.includes(word)) return false;
  }
  return true;
}

/** The words of a text search (letters and digits; at most 16). */
export function textWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 16);
}

/** Approximate bytes one entry costs in a store (for the byte bound). */
export function entryBytes(e: NewLogEntry): number {
  return 96 + e.msg.length + e.source.length + (e.task_id?.length ?? 0) + (e.worker_id?.length ?? 0);
}
