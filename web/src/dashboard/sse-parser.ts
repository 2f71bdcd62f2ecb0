/**
 * Incremental Server-Sent Events parser (the text/event-stream format) for
 * the fetch-based follower: EventSource cannot send an Authorization header,
 * and API keys must not travel in URLs that end up in logs. The parsing is
 * eventsource-parser's (as in the worker and the CLI); this class gives it
 * the push-and-collect shape the follower uses and a bound on what it holds.
 */
import { createParser, type EventSourceParser } from 'eventsource-parser';

export interface SseMessage {
  /** The `id:` field, when the message had one. */
  id: string | undefined;
  /** The `event:` field, `message` when absent. */
  event: string;
  data: string;
}

export class SseParser {
  private out: SseMessage[] = [];
  private tooLong = false;
  private readonly parser: EventSourceParser;
  /** Longest line kept while waiting for its end (bounded memory). */
  constructor(private readonly maxLine = 4 * 1024 * 1024) {
    this.parser = createParser({
      maxBufferSize: maxLine,
      onEvent: (m) => this.out.push({ id: m.id, event: m.event ?? 'message', data: m.data }),
      onError: (err) => {
        if (err.type === 'max-buffer-size-exceeded') this.tooLong = true;
      },
    });
  }

  /** Feeds decoded text; returns every message it completed. */
  push(text: string): SseMessage[] {
    if (!this.tooLong) this.parser.feed(text);
    if (this.tooLong) throw new Error(`event stream line longer than ${this.maxLine} characters`);
    const done = this.out;
    this.out = [];
    return done;
  }
}
