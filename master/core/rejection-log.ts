/**
 * Refused result events: every one is counted (by reason), but only a few
 * are logged: at most `burst` lines per `windowMs`, then one summary line
 * per window with how many were left out. The strings in a log line come
 * from the sender (task id, worker id, the reason may quote them), so they
 * are truncated and escaped to printable ASCII first: a flood of forged
 * events cannot flood the log or write attacker-chosen text into it.
 */
import type { Logger } from '../../common/logger.js';

export interface RejectedEvent {
  task_id: string;
  attempt: number;
  worker_id: string;
}

export interface RejectionLogOptions {
  /** Lines logged per window before sampling starts. */
  burst: number;
  windowMs: number;
  /** Longest untrusted string kept in a line (characters, before escaping). */
  maxFieldChars: number;
  now: () => number;
}

export const REJECTION_LOG_DEFAULTS: RejectionLogOptions = { burst: 10, windowMs: 10_000, maxFieldChars: 64, now: () => Date.now() };

/** Printable ASCII only (everything else as \\xHH / \\uHHHH), cut at `max` characters. */
export function safeField(value: unknown, max: number): string {
  const s = typeof value === 'string' ? value : String(value);
  const cut = s.length > max ? s.slice(0, max) : s;
  let out = '';
  for (const ch of cut) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c < 0x7f && ch !== '\\') out += ch;
    else if (ch === '\\') out += '\\\\';
    else out += c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u{${c.toString(16)}}`;
  }
  return s.length > max ? `${out}…(${s.length} chars)` : out;
}

export class RejectionLog {
  total = 0;
  readonly byReason = new Map<string, number>();
  private readonly o: RejectionLogOptions;
  private windowStart = -Infinity;
  private loggedInWindow = 0;
  private suppressed = 0;
  private readonly listeners: ((reason: string, ev: RejectedEvent) => void)[] = [];

  constructor(
    private readonly log: Logger,
    options: Partial<RejectionLogOptions> = {},
  ) {
    this.o = { ...REJECTION_LOG_DEFAULTS, ...options };
  }

  /** Called on every rejection (metrics). */
  onRejected(fn: (reason: string, ev: RejectedEvent) => void): void {
    this.listeners.push(fn);
  }

  note(reason: string, ev: RejectedEvent): void {
    this.total++;
    // Reasons are the intake's own phrases, some with an id in them: count by the phrase's first words.
    const key = reason.split(/[:"(]/, 1)[0]!.trim().slice(0, 48);
    this.byReason.set(key, (this.byReason.get(key) ?? 0) + 1);
    for (const l of this.listeners) l(reason, ev);
    const now = this.o.now();
    if (now - this.windowStart >= this.o.windowMs) {
      if (this.suppressed > 0) {
        this.log.warn({ suppressed: this.suppressed, total: this.total }, `${this.suppressed} more results rejected in the last ${Math.round((now - this.windowStart) / 1000)} s (not logged one by one)`);
      }
      this.windowStart = now;
      this.loggedInWindow = 0;
      this.suppressed = 0;
    }
    if (this.loggedInWindow >= this.o.burst) {
      this.suppressed++;
      return;
    }
    this.loggedInWindow++;
    const max = this.o.maxFieldChars;
    this.log.warn(
      { task_id: safeField(ev.task_id, max), attempt: Number(ev.attempt) || 0, worker_id: safeField(ev.worker_id, max) },
      `result rejected: ${safeField(reason, 2 * max)}`,
    );
  }
}
