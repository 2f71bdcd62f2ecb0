/**
 * Writes one streamed reply's SSE events to an HTTP response (used by
 * completion-responder.ts), with per-stream batching and back-pressure:
 *
 * - batching: the events queued while the master handles one gRPC batch of
 *   results go out in one write at the end of that batch (a microtask), so
 *   the first token waits for nothing but the rest of its own batch; each
 *   token stays an event of its own (clients see the tokens the provider sent);
 * - back-pressure: while the client does not read (the socket's buffer is
 *   full), streamed text is not framed but merged, and goes out as one event
 *   on `drain`; what is held is the answer's text (no per-event framing), and
 *   at most `maxHeldChars` of it: a client that reads nothing while that much
 *   piles up is cut off (the response is destroyed, which cancels its task).
 *
 * A slow client thus costs its own stream memory bounded by its answer, and
 * never delays the writes of the others.
 */
import type { Response } from 'express';

export interface SseWriterOptions {
  /** Text held for a client that does not read before it is cut off (default 4 Mi characters). */
  maxHeldChars?: number;
}

export const SSE_WRITER_DEFAULTS = { maxHeldChars: 4 * 1024 * 1024 } as const;

export class SseWriter {
  /** Serialized events to write at the end of this batch. */
  private out = '';
  /** Text not yet framed (merged while the client is not reading). */
  private text = '';
  private scheduled = false;
  private blocked = false;
  private ended = false;
  private readonly maxHeld: number;

  constructor(
    private readonly res: Response,
    /** Frames merged text as one SSE event (the format's text event). */
    private readonly frameText: (text: string) => string,
    options: SseWriterOptions = {},
  ) {
    this.maxHeld = options.maxHeldChars ?? SSE_WRITER_DEFAULTS.maxHeldChars;
  }

  /** Characters queued and not yet handed to the socket (held while the client does not read). */
  get heldChars(): number {
    return this.out.length + this.text.length;
  }

  /** Writes handed to the socket so far. */
  writes = 0;

  /** Streamed text: merged with text not yet framed. */
  pushText(text: string): void {
    if (this.ended) return;
    if (this.blocked) {
      this.text += text;
      if (this.text.length + this.out.length > this.maxHeld) this.cutOff();
      return;
    }
    this.out += this.frameText(text);
    this.schedule();
  }

  /** Already serialized events (after any text queued before them). */
  pushRaw(events: string): void {
    if (this.ended || events === '') return;
    this.frame();
    this.out += events;
    if (!this.blocked) this.schedule();
    else if (this.out.length > this.maxHeld) this.cutOff();
  }

  /** Writes everything queued now (held text too, whatever the client's state) and ends the response. */
  end(last: string): void {
    if (this.ended) return;
    this.frame();
    this.out += last;
    this.ended = true;
    const out = this.out;
    this.out = '';
    this.res.end(out);
  }

  private frame(): void {
    if (this.text === '') return;
    this.out += this.frameText(this.text);
    this.text = '';
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.ended || this.blocked) return;
    this.frame();
    if (this.out === '') return;
    const out = this.out;
    this.out = '';
    this.writes++;
    if (!this.res.write(out)) {
      this.blocked = true;
      this.res.once('drain', () => {
        this.blocked = false;
        this.flush();
      });
    }
  }

  private cutOff(): void {
    this.ended = true;
    this.text = '';
    this.out = '';
    this.res.destroy();
  }
}
