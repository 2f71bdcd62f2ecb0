/**
 * The event stream over Socket.IO: namespace `/events`, with its own
 * `use()` chain (the principal from socket-auth.ts, then the read scope) and
 * the same events, filters and resume as GET /api/v1/events. A client
 * connects with `auth: { apiKey?, since? }` and the filters as handshake
 * query strings (`type`, `task`, `worker`, `kind`, `status`); it gets every
 * kept event after `since` (none: from now on) as `event` messages
 * `{id, ...event}`, in id order, then the live ones. To resume after a
 * disconnect (also across a master restart) it reconnects with
 * `since` = the last id it got: each missed event once. A client that falls
 * 10,000 messages behind gets `overflow` and is disconnected (it resumes the
 * same way). Who sees what is as for GET /api/v1/events (`scopedFilter`):
 * a key with the read scope; a user key gets its own tasks' events only.
 */
import type { Namespace, Server, Socket } from 'socket.io';
import type { z } from 'zod';
import { errorMessage } from '../../common/errors.js';
import { schemaValidationError } from '../../common/schema-issue.js';
import type { StoredEvent } from '../events/event-outbox.js';
import type { EventLog } from '../events/event-log.js';
import { requireScope } from './auth/http-auth.js';
import type { Authenticator, Principal } from './auth/principal.js';
import { socketAuth } from './auth/socket-auth.js';
import { query as eventsQuery, scopedFilter } from './event-routes.js';

const PAGE = 1000;
const MAX_BUFFERED = 10_000;

export function attachEventNamespace(io: Server, log: EventLog, auth: Authenticator): Namespace {
  const nsp = io.of('/events');
  nsp.use(socketAuth(auth));
  nsp.use((socket, next) => {
    try {
      requireScope((socket.data as { principal: Principal }).principal, 'read');
      const parsed = eventsQuery.safeParse({ ...socket.handshake.query, ...sinceOf(socket) });
      if (!parsed.success) throw schemaValidationError(parsed.error, '', 'query');
      (socket.data as { query?: typeof parsed.data }).query = parsed.data;
      next();
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'BAD_REQUEST';
      next(Object.assign(new Error(`${code}: ${errorMessage(err)}`), { data: { code } }));
    }
  });
  nsp.on('connection', (socket) => serve(socket, log));
  return nsp;
}

/** `auth.since` (a number) wins over a `since` query string. */
function sinceOf(socket: Socket): { since?: string } {
  const s = (socket.handshake.auth as { since?: unknown } | undefined)?.since;
  return typeof s === 'number' || (typeof s === 'string' && s !== '') ? { since: String(s) } : {};
}

function serve(socket: Socket, log: EventLog): void {
  const q = (socket.data as { query: z.infer<typeof eventsQuery> }).query;
  const principal = (socket.data as { principal: Principal }).principal;
  const filter = scopedFilter(q, principal);
  let lastSent = q.since ?? log.lastId;
  let replaying = true;
  let buffered: StoredEvent[] = [];
  let closed = false;
  const send = (s: StoredEvent) => {
    if (s.id <= lastSent) return;
    socket.emit('event', { id: s.id, ...s.event });
    lastSent = s.id;
  };
  const behind = () => (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length > MAX_BUFFERED;
  const overflow = () => {
    socket.emit('overflow', { message: `client too slow: reconnect with since=${lastSent}`, last_id: lastSent });
    socket.disconnect(true);
  };
  const stop = log.follow({
    filter,
    deliver: (batch) => {
      if (closed) return;
      if (replaying) {
        buffered.push(...batch);
        if (buffered.length > MAX_BUFFERED) overflow();
        return;
      }
      for (const s of batch) send(s);
      if (behind()) overflow();
    },
  });
  socket.on('disconnect', () => {
    closed = true;
    stop();
    buffered = [];
  });
  const page = async (): Promise<void> => {
    if (closed) return;
    if (behind()) {
      socket.conn.once('drain', () => void page());
      return;
    }
    let events: StoredEvent[];
    try {
      events = lastSent < log.lastId ? await log.after(lastSent, filter, PAGE) : [];
    } catch {
      socket.disconnect(true); // the store cannot be read: the client reconnects with since=<last id>
      return;
    }
    if (closed) return;
    for (const s of events) send(s);
    if (events.length === PAGE) {
      setImmediate(() => void page());
      return;
    }
    replaying = false;
    const b = buffered;
    buffered = [];
    for (const s of b) send(s);
  };
  void page();
}
