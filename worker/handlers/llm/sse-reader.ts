/**
 * A Server-Sent Events parser over a fetch response body (WHATWG
 * EventSource parsing rules: LF / CRLF / CR line ends, `data:` lines joined
 * with "\n", comments ignored, an event dispatched on a blank line). An event
 * still pending when the stream ends is dispatched too, because some servers
 * do not end their last event with a blank line.
 *
 * Leaving the loop early (break, throw) cancels the body, which closes the
 * upstream HTTP request.
 */
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
  let buffer = '';
  let data: string[] = [];
  let dataChars = 0;
  let event = '';
  let finished = false;

  const takeLine = (line: string): SseEvent | undefined => {
    if (line === '') {
      if (data.length === 0) {
        event = '';
        return undefined;
      }
      const out = { event: event || 'message', data: data.join('\n') };
      data = [];
      dataChars = 0;
      event = '';
      return out;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      dataChars += value.length + 1;
      if (dataChars > maxEventChars) {
        throw new TaskFailure('PROVIDER_ERROR', `provider sent a stream event over ${maxEventChars} characters`);
      }
      data.push(value);
    } else if (field === 'event') {
      event = value;
    }
    return undefined;
  };

  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        buffer += decoder.decode();
        finished = true;
      } else {
        buffer += decoder.decode(value, { stream: true });
      }
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        // a CR at the very end may be the first half of a CRLF split across reads
        if (c === 13 && i === buffer.length - 1 && !finished) break;
        const line = buffer.slice(start, i);
        if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
        const out = takeLine(line);
        if (out) yield out;
      }
      buffer = buffer.slice(start);
      if (buffer.length > maxEventChars) {
        throw new TaskFailure('PROVIDER_ERROR', `provider sent a stream line over ${maxEventChars} characters`);
      }
      if (finished) {
        if (buffer !== '') takeLine(buffer);
        const last = takeLine('');
        if (last) yield last;
        return;
      }
    }
  } finally {
    if (!finished) {
      await reader.cancel().catch(() => undefined);
    }
    reader.releaseLock();
  }
}
