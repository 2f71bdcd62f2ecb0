/**
 * Server-Sent Events over a fetch response body, parsed by eventsource-parser
 * (the parser the AI SDK uses: WHATWG EventSource rules, LF / CRLF / CR line
 * ends, `data:` lines joined with "\n", comments ignored). An event still
 * pending when the stream ends is dispatched too, because some servers do not
 * end their last event with a blank line. What one event may hold is bounded
 * (the parser's buffer limit, and each event's data), so a provider cannot
 * make the worker buffer without limit.
 *
 * Leaving the loop early (break, throw) cancels the body, which closes the
 * upstream HTTP request.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { TaskFailure } from '../task-handler.js';

export interface SseEvent {
  event: string;
  data: string;
}

export const DEFAULT_MAX_SSE_EVENT_CHARS = 8 * 1024 * 1024;

export async function* readSse(
  body: ReadableStream<Uint8Array>,
  maxEventChars = DEFAULT_MAX_SSE_EVENT_CHARS,
): AsyncGenerator<SseEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  let ready: SseEvent[] = [];
  let overflow = false;
  let finished = false;
  const tooBig = () => new TaskFailure('PROVIDER_ERROR', `provider sent a stream event over ${maxEventChars} characters`);
  const parser = createParser({
    // Bounds the partial line and the pending event's data lines the parser holds.
    maxBufferSize: maxEventChars,
    onEvent: (m: EventSourceMessage) => ready.push({ event: m.event || 'message', data: m.data }),
    onError: (err) => {
      if (err.type === 'max-buffer-size-exceeded') overflow = true;
    },
  });
  const feed = (text: string) => {
    parser.feed(text);
    if (overflow) throw tooBig();
  };

  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        finished = true;
        // What is left, then a blank line: a last event without its blank line is dispatched too.
        feed(decoder.decode());
        feed('\n\n');
      } else {
        feed(decoder.decode(value, { stream: true }));
      }
      for (const e of ready.splice(0)) {
        if (e.data.length > maxEventChars) throw tooBig();
        yield e;
      }
      if (finished) return;
    }
  } finally {
    ready = [];
    if (!finished) {
      await reader.cancel().catch(() => undefined);
    }
    reader.releaseLock();
  }
}
