/**
 * Incremental Server-Sent Events parser (the text/event-stream format) for
 * the fetch-based follower: EventSource cannot send an Authorization header,
 * and API keys must not travel in URLs that end up in logs.
 */
export interface SseMessage {
  /** The `id:` field, when the message had one. */
  id: string | undefined;
  /** The `event:` field, `message` when absent. */
  event: string;
  data: string;
}

export class SseParser {
  private buffer = '';
  private id: string | undefined;
  private event = '';
  private data: string[] = [];
  /** Longest line kept while waiting for its end (bounded memory). */
  constructor(private readonly maxLine = 4 * 1024 * 1024) {}

  /** Feeds decoded text; returns every message it completed. */
  push(text: string): SseMessage[] {
    this.buffer += text;
    const out: SseMessage[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      // A CR at the end may be the first half of a CRLF split across chunks: wait for the next one.
      if (this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, nl);
      const skip = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      this.buffer = this.buffer.slice(nl + skip);
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    if (this.buffer.length > this.maxLine) throw new Error(`event stream line longer than ${this.maxLine} characters`);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return undefined;
      }
      const msg = { id: this.id, event: this.event || 'message', data: this.data.join('\n') };
      this.event = '';
      this.data = [];
      this.id = undefined;
      return msg;
    }
    if (line.startsWith(':')) return undefined; // comment / heartbeat
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\u0000')) this.id = value;
    return undefined;
  }
}
