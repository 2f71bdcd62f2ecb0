/**
 * One kept log line (the master's own or a worker's, from `{root}/logs/{source}`)
 * and the filter the log API reads them with.
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
  readonly msg: string;
}

export type NewLogEntry = Omit<LogEntry, 'id'>;

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
