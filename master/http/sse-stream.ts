/**
 * The part every server-sent-events route shares (the event stream, the log
 * follow, a task's live output): the headers, an opening comment, a
 * heartbeat comment so proxies keep the connection, and one way to end it
 * (the client went away, the caller's key was revoked or rotated, or the
 * route decided), after which nothing more is written.
 */
import type { Response } from 'express';

export const SSE_HEARTBEAT_MS = 15_000;

export interface SseStream {
  /** Ended: write nothing more. */
  readonly closed: boolean;
  /** Runs fn when the stream ends (once; at once if it already has). */
  onEnd(fn: () => void): void;
  end(): void;
}

export interface SseOptions {
  /** A comment sent first (`: <text>`), so a client sees the stream open. */
  comment?: string;
  heartbeatMs?: number;
  /** Ends the stream when this key is revoked or rotated (master/http/auth). */
  invalidation?: { keyId: string; auth: { onInvalidated(listener: (keyId: string) => void): () => void } };
}

export function openSse(req: { on(ev: 'close', fn: () => void): unknown }, res: Response, o: SseOptions = {}): SseStream {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  if (o.comment) res.write(`: ${o.comment}\n\n`);
  const ends: (() => void)[] = [];
  let closed = false;
  const heartbeat = setInterval(() => res.write(': ping\n\n'), o.heartbeatMs ?? SSE_HEARTBEAT_MS);
  heartbeat.unref();
  const stream: SseStream = {
    get closed() {
      return closed;
    },
    onEnd(fn) {
      if (closed) fn();
      else ends.push(fn);
    },
    end() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      for (const fn of ends.splice(0)) fn();
      res.end();
    },
  };
  req.on('close', () => stream.end());
  if (o.invalidation) {
    const { keyId, auth } = o.invalidation;
    const unsubscribe = auth.onInvalidated((id) => {
      if (id === keyId) stream.end();
    });
    stream.onEnd(unsubscribe);
  }
  return stream;
}
