/**
 * `task:chunk` to a session's sockets (socket-gateway.ts), with per-socket
 * back-pressure. While a browser reads, every chunk is its own event, sent at
 * once (engine.io already queues what comes while its transport is busy and
 * sends that together). A socket whose connection has `backlogPackets` or
 * more packets queued (a slow or stalled browser) is sent nothing more: its
 * chunks are merged per task (text concatenated, the last `seq`) and held,
 * and go out as one event per task when its connection flushes (engine.io
 * `drain`). What is held is the text itself, at most `maxHeldChars` per
 * socket: a browser that reads nothing while that much piles up is
 * disconnected (it gets its answers again when it comes back to its
 * session). The others' chunks never wait for it.
 *
 * Merged chunks keep the client contract (common/socket-events.ts): text of
 * one attempt in order, `seq` increasing; a chunk with `data` (tool calls) or
 * of another attempt is never merged with its neighbours.
 */
import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents, TaskChunkEvent } from '../../common/socket-events.js';

type IoServer = Server<ClientToServerEvents, ServerToClientEvents>;
type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface ChunkRelayOptions {
  /** Packets queued on a connection from which on its chunks are held and merged (default 64). */
  backlogPackets?: number;
  /** Text held for one socket that does not read before it is disconnected (default 4 Mi characters). */
  maxHeldChars?: number;
}

export const CHUNK_RELAY_DEFAULTS = { maxHeldChars: 4 * 1024 * 1024, backlogPackets: 64 } as const;

/** A socket's chunks waiting for its connection to flush. */
interface Held {
  tasks: Map<string, TaskChunkEvent[]>;
  chars: number;
}

/** Appends `c` to `list`, merged into the last chunk when both are text of the same attempt. */
function merge(list: TaskChunkEvent[], c: TaskChunkEvent): void {
  const last = list[list.length - 1];
  if (last && last.attempt === c.attempt && last.data === null && c.data === null) {
    last.text += c.text;
    last.seq = c.seq;
  } else list.push({ ...c });
}

/**
 * One socket write per turn for a WebSocket connection: engine.io hands each
 * packet to ws as its own frame and write (a syscall per token per browser);
 * corked from engine.io's `flush` until the end of the current turn (a
 * microtask), the frames of one gRPC batch of results leave together. The
 * first of them waits only for the rest of its batch.
 */
export function coalesceWrites(socket: IoSocket): void {
  const conn = socket.conn as unknown as { on(e: 'flush', f: () => void): void; transport: { name: string; socket?: { _socket?: import('node:net').Socket } } };
  let corked: import('node:net').Socket | undefined;
  conn.on('flush', () => {
    if (corked || conn.transport.name !== 'websocket') return;
    const raw = conn.transport.socket?._socket;
    if (!raw || typeof raw.cork !== 'function') return;
    corked = raw;
    raw.cork();
    queueMicrotask(() => {
      corked = undefined;
      raw.uncork();
    });
  });
}

export class ChunkRelay {
  private readonly held = new Map<IoSocket, Held>();
  /** Sockets whose disconnect already forgets what is held for them. */
  private readonly watched = new WeakSet<IoSocket>();
  private readonly maxHeld: number;
  private readonly backlog: number;
  /** Sockets disconnected for holding too much (metrics, tests). */
  cutOff = 0;

  constructor(
    private readonly io: IoServer,
    options: ChunkRelayOptions = {},
  ) {
    this.maxHeld = options.maxHeldChars ?? CHUNK_RELAY_DEFAULTS.maxHeldChars;
    this.backlog = options.backlogPackets ?? CHUNK_RELAY_DEFAULTS.backlogPackets;
  }

  /** Characters held for sockets that do not read, in all. */
  get heldChars(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.chars;
    return n;
  }

  /** A chunk for the sockets of `room`. */
  send(room: string, chunk: TaskChunkEvent): void {
    for (const socket of this.sockets(room)) {
      const h = this.held.get(socket);
      if (h || (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length >= this.backlog) this.hold(socket, h, chunk);
      else socket.emit('task:chunk', chunk);
    }
  }

  /** Sends now whatever is held for `taskId` in `room` (before its task:update / task:done, to keep the order). */
  flushTask(room: string, taskId: string): void {
    if (this.held.size === 0) return;
    for (const socket of this.sockets(room)) {
      const h = this.held.get(socket);
      const c = h?.tasks.get(taskId);
      if (!h || !c) continue;
      h.tasks.delete(taskId);
      h.chars -= c.reduce((n, x) => n + x.text.length, 0);
      for (const x of c) socket.emit('task:chunk', x);
    }
  }

  private *sockets(room: string): Generator<IoSocket> {
    const ids = this.io.sockets.adapter.rooms.get(room);
    if (!ids) return;
    for (const id of ids) {
      const s = this.io.sockets.sockets.get(id);
      if (s) yield s;
    }
  }

  private hold(socket: IoSocket, h: Held | undefined, c: TaskChunkEvent): void {
    if (!h) {
      h = { tasks: new Map(), chars: 0 };
      this.held.set(socket, h);
      socket.conn.once('drain', () => this.release(socket));
      if (!this.watched.has(socket)) {
        this.watched.add(socket);
        socket.once('disconnect', () => this.held.delete(socket));
      }
    }
    let mine = h.tasks.get(c.id);
    if (!mine) h.tasks.set(c.id, (mine = []));
    merge(mine, c);
    h.chars += c.text.length;
    if (h.chars > this.maxHeld) {
      this.held.delete(socket);
      this.cutOff++;
      socket.disconnect(true);
    }
  }

  /** The socket's connection flushed: one event per task with everything held for it. */
  private release(socket: IoSocket): void {
    const h = this.held.get(socket);
    if (!h) return;
    this.held.delete(socket);
    for (const list of h.tasks.values()) for (const c of list) socket.emit('task:chunk', c);
  }
}
