/**
 * The streamed output of a running task on its page: follows
 * GET /api/v1/tasks/:id/output over fetch (the API key in the Authorization
 * header, as the event follower does), shows the text so far and each chunk
 * as it arrives, starts over on a higher attempt, reconnects after a drop
 * (a fresh snapshot replaces the text), and calls `onDone` when the task
 * ended so the page shows the final result instead.
 */
import { h } from '../dom.js';
import { SseParser } from './sse-parser.js';

export interface TaskOutputOptions {
  path: string;
  headers: () => Record<string, string>;
  onDone: () => void;
}

export type OutputState = 'connecting' | 'live' | 'reconnecting' | 'done' | 'unauthorized' | 'stopped';

export class TaskOutput {
  /** The text element (`#task-output`); kept across page redraws. */
  readonly element = h('pre', { id: 'task-output', class: 'json', 'aria-live': 'polite', 'aria-label': 'Streamed output', 'data-state': 'connecting', 'data-chunks': '0' });
  private controller: AbortController | undefined;
  private stopped = false;
  private attempt = 0;
  private chunks = 0;

  constructor(private readonly o: TaskOutputOptions) {}

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
    this.state('stopped');
  }

  private state(s: OutputState): void {
    this.element.setAttribute('data-state', s);
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      try {
        const end = await this.once();
        if (end === 'done' || end === 'unauthorized') return;
        backoff = 500;
      } catch {
        if (this.stopped) return;
      }
      this.state('reconnecting');
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(10_000, backoff * 2);
    }
  }

  private async once(): Promise<'done' | 'unauthorized' | 'ended'> {
    this.controller = new AbortController();
    const res = await fetch(this.o.path, { headers: { accept: 'text/event-stream', ...this.o.headers() }, signal: this.controller.signal, cache: 'no-store' });
    if (res.status === 401 || res.status === 403) {
      this.state('unauthorized');
      return 'unauthorized';
    }
    if (!res.ok || !res.body) throw new Error(`output stream: HTTP ${res.status}`);
    this.state('live');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'ended';
      for (const m of parser.push(value)) {
        let data: { attempt?: number; text?: string; truncated?: boolean };
        try {
          data = JSON.parse(m.data) as typeof data;
        } catch {
          continue;
        }
        if (m.event === 'snapshot') {
          this.attempt = data.attempt ?? 0;
          this.element.textContent = `${data.truncated ? '…' : ''}${data.text ?? ''}`;
        } else if (m.event === 'chunk') {
          if ((data.attempt ?? 0) > this.attempt) (this.attempt = data.attempt ?? 0), (this.element.textContent = '');
          this.element.append(data.text ?? '');
          this.element.setAttribute('data-chunks', String(++this.chunks));
        } else if (m.event === 'done') {
          this.state('done');
          this.stopped = true;
          this.o.onDone();
          return 'done';
        }
      }
    }
  }
}
