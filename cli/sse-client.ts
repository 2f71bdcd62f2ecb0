/**
 * A small Server-Sent Events reader for the CLI (`taskwire logs --follow`,
 * `taskwire monitor`): yields each event block's `id`, `event` and `data`;
 * comments (`: ping`) are skipped. The caller resumes with `Last-Event-ID`.
 */
import { createParser } from 'eventsource-parser';
import { authHeaders } from './client-commands.js';
import { CliExit, EXIT } from './operator-commands.js';

export interface SseMessage {
  id: number | undefined;
  event: string;
  data: string;
}

/** Opens the stream; a 4xx answer is a CliExit (2 for 400, 3 for 404, else 1); other failures throw plain errors (retry). */
export async function* sseStream(url: string, lastId: number | undefined, signal?: AbortSignal, onOpen?: () => void): AsyncGenerator<SseMessage> {
  const headers: Record<string, string> = { ...authHeaders(), accept: 'text/event-stream' };
  if (lastId !== undefined) headers['last-event-id'] = String(lastId);
  const res = await fetch(url, { headers, signal });
  if (res.status >= 400 && res.status < 500) {
    const text = (await res.text()).slice(0, 300);
    throw new CliExit(res.status === 400 ? EXIT.usage : res.status === 404 ? EXIT.notFound : EXIT.other, `GET ${url}: HTTP ${res.status}: ${text}`);
  }
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
  onOpen?.();
  // eventsource-parser (as the worker's provider streams): CRLF, multi-line data, comments.
  const ready: SseMessage[] = [];
  const parser = createParser({
    onEvent: (m) => ready.push({ id: m.id === undefined ? undefined : Number(m.id), event: m.event ?? 'message', data: m.data }),
  });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.feed(dec.decode(value, { stream: true }));
    yield* ready.splice(0);
  }
}
