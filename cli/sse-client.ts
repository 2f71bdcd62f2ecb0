/**
 * A small Server-Sent Events reader for the CLI (`taskwire logs --follow`,
 * `taskwire monitor`): yields each event block's `id`, `event` and `data`;
 * comments (`: ping`) are skipped. The caller resumes with `Last-Event-ID`.
 */
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
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let id: number | undefined;
      let event = 'message';
      let data: string | undefined;
      for (const l of block.split('\n')) {
        if (l.startsWith('id: ')) id = Number(l.slice(4));
        else if (l.startsWith('event: ')) event = l.slice(7);
        else if (l.startsWith('data: ')) data = l.slice(6);
      }
      if (data !== undefined) yield { id, event, data };
    }
  }
}
