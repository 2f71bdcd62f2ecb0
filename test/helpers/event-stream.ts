/**
 * Followers of the event stream for tests: GET /api/v1/events over real SSE
 * (fetch, frames parsed as a client would) and the Socket.IO `/events`
 * namespace. Events accumulate until `close()`.
 */
import { io, type Socket } from 'socket.io-client';

export interface SseEvent {
  id: number;
  type: string;
  data: { type: string; task_id?: string; seq: number; owner?: string | null; [k: string]: unknown };
}

/** Reads an SSE answer to its end, handing each event with an id on; resolves when the server ends the stream. */
export async function readSse(res: Response, onEvent: (e: SseEvent) => void): Promise<void> {
  const reader = res.body!.getReader();
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
      const f = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
      if (f.id) onEvent({ id: Number(f.id), type: f.event!, data: JSON.parse(f.data!) });
    }
  }
}

/** Follows an SSE URL; `done` rejects when the answer is not a 200 stream. */
export function followSse(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  const ac = new AbortController();
  const done = (async () => {
    const res = await fetch(url, { headers, signal: ac.signal });
    if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
    await readSse(res, (e) => events.push(e));
  })().catch((err: Error) => {
    if (err.name !== 'AbortError') throw err;
  });
  return { events, done, close: async () => (ac.abort(), await done) };
}

/** An event as the `/events` namespace sends it: `{id, ...event}`. */
export type SocketEvent = { id: number; type: string; task_id?: string; owner?: string | null; [k: string]: unknown };

/** Connects to `/events`; `connected` rejects with the handshake's refusal. */
export function followSocket(url: string, opts: { auth?: Record<string, unknown>; query?: Record<string, string> } = {}) {
  const events: SocketEvent[] = [];
  const socket: Socket = io(`${url}/events`, { transports: ['websocket'], reconnection: false, auth: opts.auth ?? {}, query: opts.query ?? {} });
  socket.on('event', (e: SocketEvent) => events.push(e));
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return { events, socket, connected };
}
