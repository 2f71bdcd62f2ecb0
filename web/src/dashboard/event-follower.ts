/**
 * Follows GET /api/v1/events over fetch (so the API key goes in the
 * Authorization header, never in the URL) and resumes with `Last-Event-ID`
 * after every drop: the outbox's ids only grow, so a reconnect (also after a
 * master restart) yields each missed event once, in order. `setPath` changes
 * the filter of a running follower: it reconnects at once with the new path,
 * resuming after the last id it got.
 */
import { SseParser } from './sse-parser.js';

export type FollowState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'stopped';

export interface FollowOptions {
  /** Path with query, e.g. `/api/v1/events?type=task.failed`. */
  path: string;
  headers: () => Record<string, string>;
  /** Resume after this id (undefined: from now on). */
  lastId?: number;
  onEvent: (id: number, type: string, data: unknown) => void;
  onState: (state: FollowState, detail?: string) => void;
  /** Longest wait between reconnects (default 10 s). */
  maxBackoffMs?: number;
}

export class EventFollower {
  private controller: AbortController | undefined;
  private stopped = false;
  private path: string;
  /** The connection was cut to follow a new path: reconnect at once. */
  private retargeting = false;
  lastId: number | undefined;

  constructor(private readonly o: FollowOptions) {
    this.lastId = o.lastId;
    this.path = o.path;
  }

  /** Follows another path (other filters) from the last id got; no-op when it is the current one. */
  setPath(path: string): void {
    if (path === this.path) return;
    this.path = path;
    if (this.controller === undefined || this.stopped) return; // not connected yet: the next connection uses it
    this.retargeting = true;
    this.controller.abort();
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
    this.o.onState('stopped');
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    let first = true;
    while (!this.stopped) {
      if (!this.retargeting) this.o.onState(first ? 'connecting' : 'reconnecting');
      first = false;
      this.retargeting = false;
      try {
        const got = await this.once();
        if (got === 'unauthorized') {
          this.o.onState('unauthorized');
          return;
        }
        if (got > 0) backoff = 500;
      } catch (err) {
        if (this.stopped) return;
        if (this.retargeting) continue; // cut on purpose by setPath
        this.o.onState('reconnecting', err instanceof Error ? err.message : String(err));
      }
      if (this.stopped) return;
      if (this.retargeting) continue;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(this.o.maxBackoffMs ?? 10_000, backoff * 2);
    }
  }

  /** One connection; resolves with how many events it delivered when the stream ends. */
  private async once(): Promise<number | 'unauthorized'> {
    this.controller = new AbortController();
    const headers = this.o.headers();
    if (this.lastId !== undefined) headers['last-event-id'] = String(this.lastId);
    const res = await fetch(this.path, { headers: { accept: 'text/event-stream', ...headers }, signal: this.controller.signal, cache: 'no-store' });
    if (res.status === 401 || res.status === 403) return 'unauthorized';
    if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
    this.o.onState('live');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    let n = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return n;
      for (const m of parser.push(value)) {
        if (m.event === 'overflow') continue; // the server ends the stream next; we resume from lastId
        const id = m.id !== undefined && /^\d+$/.test(m.id) ? Number(m.id) : undefined;
        if (id === undefined) continue;
        if (this.lastId !== undefined && id <= this.lastId) continue;
        this.lastId = id;
        n++;
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          continue;
        }
        this.o.onEvent(id, m.event, data);
      }
    }
  }
}
