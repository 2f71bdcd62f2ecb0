/**
 * Socket.IO: browser sessions submit tasks and receive their updates, chunks
 * and final results. Every inbound event is validated; a malformed one is
 * answered with an error ack (when there is an ack) and otherwise dropped.
 */
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { z } from 'zod';
import { TaskwireError, errorMessage } from '../../common/errors.js';
import { assertJsonValue, type JsonValue } from '../../common/json-value.js';
import type { Logger } from '../../common/logger.js';
import type { ClientToServerEvents, ServerToClientEvents, TaskChunkEvent } from '../../common/socket-events.js';
import { TERMINAL_STATUSES, type ClusterView, type TaskView } from '../../common/task-view.js';
import { taskView, type TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import { FINAL_EVENT_TYPES } from '../core/task-events.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';
import { submitFields } from '../../common/task-kinds.js';
import { originAllowed } from './auth/origin-check.js';
import { Authenticator, LOCAL_PRINCIPAL, type Principal } from './auth/principal.js';
import { SessionIds } from './auth/session-ids.js';
import { clusterTenant } from './auth/worker-visibility.js';
import { SessionOutbox } from './session-outbox.js';
import { ChunkRelay, coalesceWrites, type ChunkRelayOptions } from './chunk-relay.js';
import { REPLAY_DEFAULTS, replay, replaySelection, type ReplayConnection, type ReplayOptions } from './session-replay.js';
import { systemClock } from '../../common/clock.js';
import { socketAuth } from './auth/socket-auth.js';
import { parseBody } from './rest-api.js';

const room = (sessionId: string) => `session:${sessionId}`;
/** Sockets that get the cluster summary of one tenant (workers serving it, its tasks); `cluster:*`: the whole cluster. */
const clusterRoom = (tenant: string | undefined) => (tenant === undefined ? 'cluster:*' : `cluster:${tenant}`);

const submitRequest = z
  .object({
    ...submitFields,
    client_ref: z.string().max(128).optional(),
    api_key: z.string().min(1).max(1024).optional(),
  })
  .strict();
const cancelRequest = z.object({ id: z.string().min(1).max(128) }).strict();

type IoServer = Server<ClientToServerEvents, ServerToClientEvents>;
type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface SocketGatewayOptions {
  httpServer: HttpServer;
  tasks: TaskService;
  registry: WorkerRegistry;
  /** The cluster summary; with a tenant, only what it may see (workers serving it, its own tasks). */
  cluster: (tenant?: string) => ClusterView;
  log: Logger;
  clusterIntervalMs?: number;
  maxBufferBytes: number;
  /** The largest task input (TASKWIRE_MAX_INPUT_BYTES), told to the chat in `session` so it refuses bigger images itself. */
  maxInputBytes?: number;
  onInvalid?: (reason: string) => void;
  /** Resolves the handshake's key into a principal (default: no keys, everyone local). */
  auth?: Authenticator;
  /** Origins besides the master's own allowed to open a socket (`TASKWIRE_ALLOWED_ORIGINS`). */
  allowedOrigins?: readonly string[];
  /** Issues and checks session ids (default: a random key, 7 days idle). */
  sessions?: SessionIds;
  /** Bounds of what a browser coming back to its session is sent (session-replay.ts). */
  replay?: Partial<ReplayOptions>;
  /** Batching and back-pressure of streamed chunks (chunk-relay.ts). */
  chunks?: ChunkRelayOptions;
}

function fail(err: unknown): { ok: false; error: { code: string; message: string } } {
  return { ok: false, error: { code: err instanceof TaskwireError ? err.code : 'INTERNAL', message: errorMessage(err) } };
}

/** The request's `client_ref`, echoed in its ack (when it is a sane string). */
function clientRef(request: unknown): { client_ref?: string } {
  const ref = (request as { client_ref?: unknown } | null)?.client_ref;
  return typeof ref === 'string' && ref.length <= 128 ? { client_ref: ref } : {};
}

export class SocketGateway {
  readonly io: IoServer;
  private readonly timer: NodeJS.Timeout;
  private readonly sessions: SessionIds;
  private readonly outbox = new SessionOutbox();
  /** task:chunk per socket, batched and back-pressured. */
  readonly chunks: ChunkRelay;
  /** Queued session tasks (id -> session) and the standing last sent for each (`position/eta s`). */
  private readonly queued = new Map<string, { sessionId: string; sent: string }>();
  /** Multi-master: where a queued task stands that is in no queue here (in the shared pool). */
  private elsewhere: ((id: string) => { position: number; etaMs: number | null; task: TaskRecord } | undefined) | undefined;

  constructor(private readonly options: SocketGatewayOptions) {
    const { tasks, log } = options;
    const allowed = new Set(options.allowedOrigins ?? []);
    this.sessions = options.sessions ?? new SessionIds({ secret: randomBytes(32).toString('base64url'), idleMs: 7 * 24 * 3600_000, clock: systemClock });
    this.io = new Server<ClientToServerEvents, ServerToClientEvents>(options.httpServer, {
      maxHttpBufferSize: options.maxBufferBytes,
      serveClient: false,
      // Cross-site WebSocket: a page from another origin may not connect.
      allowRequest: (req, cb) => cb(originAllowed(req, allowed) ? null : 'origin not allowed', originAllowed(req, allowed)),
    });
    this.io.use(socketAuth(options.auth ?? new Authenticator()));
    this.chunks = new ChunkRelay(this.io, options.chunks);
    // A revoked or rotated key loses its open connections at once.
    options.auth?.onInvalidated((keyId) => {
      for (const socket of this.io.sockets.sockets.values()) {
        if ((socket.data as { principal?: Principal }).principal?.id === keyId) socket.disconnect(true);
      }
    });
    this.io.on('connection', (socket) => this.onConnection(socket));
    // A subscriber of the task event stream: session tasks go to their session's room.
    const ev = tasks.events;
    // Views are taken when the event happens; the emit may wait for a pending submit ack.
    ev.on(['task.assigned', 'task.started', 'task.retried'], (e, t) => {
      if (e.session_id) this.sendUpdate(e.session_id, taskView(t));
    });
    // Where a queued session task stands, sent with the cluster tick as `task:update` (queue_position, eta_ms) when it moved.
    ev.on(['task.queued', 'task.retried'], (e) => {
      if (e.session_id) this.queued.set(e.task_id, { sessionId: e.session_id, sent: '' });
    });
    ev.on(['task.assigned', ...FINAL_EVENT_TYPES], (e) => {
      this.queued.delete(e.task_id);
    });
    ev.on('task.chunk', (e) => {
      if (e.session_id) this.sendChunk(e.session_id, { id: e.task_id, attempt: e.attempt, seq: e.chunk_seq, text: e.text, data: e.data as JsonValue });
    });
    ev.on(FINAL_EVENT_TYPES, (e, t) => {
      if (e.session_id) this.sendDone(e.session_id, taskView(t));
    });
    this.timer = setInterval(() => {
      if (this.io.engine.clientsCount > 0) this.sendCluster();
      this.sendStandings();
    }, options.clusterIntervalMs ?? 1000);
    this.timer.unref();
    log.debug('socket.io gateway ready');
  }

  /** A chunk to a session's sockets here (also one another master relayed: master/cluster-relay/). */
  sendChunk(sessionId: string, chunk: TaskChunkEvent): void {
    this.outbox.send(sessionId, chunk.id, () => this.chunks.send(room(sessionId), chunk));
  }

  /** Multi-master: standings of queued session tasks this master's queue does not hold (store/pool-standings.ts). */
  useStandingsElsewhere(f: (id: string) => { position: number; etaMs: number | null; task: TaskRecord } | undefined): void {
    this.elsewhere = f;
  }

  /** A session task's status view to its sockets here, after the chunks before it (also one another master relayed). */
  sendUpdate(sessionId: string, view: TaskView): void {
    if (view.status !== 'queued') this.queued.delete(view.id); // assigned elsewhere: no more standings
    this.outbox.send(sessionId, view.id, () => {
      this.chunks.flushTask(room(sessionId), view.id); // a retry's update after the chunks it ends
      this.io.to(room(sessionId)).emit('task:update', view);
    });
  }

  /** A session task's end to its sockets here, after every chunk of it (also relayed ones). */
  sendDone(sessionId: string, view: TaskView): void {
    this.queued.delete(view.id); // a task of this session that another master ran has no final event here
    this.outbox.send(sessionId, view.id, () => {
      this.chunks.flushTask(room(sessionId), view.id); // every chunk before the result
      this.io.to(room(sessionId)).emit('task:done', view);
      this.outbox.finished(sessionId, view.id);
    });
  }

  /**
   * Multi-master chunk relay: told (on) when a session gets its first socket
   * on this master and (off) when its last one leaves, and at once of the
   * sessions connected now.
   */
  watchSessions(watch: (sessionId: string, on: boolean) => void): void {
    const adapter = this.io.of('/').adapter;
    const prefix = room('');
    adapter.on('create-room', (name: string) => name.startsWith(prefix) && watch(name.slice(prefix.length), true));
    adapter.on('delete-room', (name: string) => name.startsWith(prefix) && watch(name.slice(prefix.length), false));
    for (const name of adapter.rooms.keys()) if (name.startsWith(prefix)) watch(name.slice(prefix.length), true);
  }

  /** One summary per tenant with sockets connected (a cluster operator's: the whole cluster). */
  private sendCluster(): void {
    for (const name of this.io.of('/').adapter.rooms.keys()) {
      if (!name.startsWith('cluster:')) continue;
      const tenant = name === 'cluster:*' ? undefined : name.slice('cluster:'.length);
      this.io.to(name).emit('cluster', this.options.cluster(tenant));
    }
  }

  /** Sends `task:update` with `queue_position` / `eta_ms` for queued session tasks whose standing changed (at most 1000 a tick). */
  private sendStandings(): void {
    let n = 0;
    for (const [id, q] of this.queued) {
      if (++n > 1000) break;
      const here = this.options.tasks.standing(id);
      const pooled = here ? undefined : this.elsewhere?.(id);
      const standing = here ?? pooled;
      const t = standing && (this.options.tasks.get(id) ?? pooled?.task);
      if (!standing || !t) continue; // waiting out a retry backoff, or gone
      const eta = standing.etaMs === null ? null : Math.round(standing.etaMs / 1000);
      const key = `${standing.position}/${eta}`;
      if (key === q.sent) continue;
      q.sent = key;
      const view = { ...taskView(t), queue_position: standing.position, eta_ms: standing.etaMs };
      this.io.to(room(q.sessionId)).emit('task:update', view);
    }
  }

  private onConnection(socket: IoSocket): void {
    const { tasks } = this.options;
    const principal = (socket.data as { principal?: Principal }).principal ?? LOCAL_PRINCIPAL;
    const auth = socket.handshake.auth as { sessionId?: unknown } | undefined;
    // Issued by the master and bound to the principal; a client-picked or idle id gets a fresh one.
    const { sessionId, resumed } = this.sessions.resolve(auth?.sessionId, principal);
    coalesceWrites(socket);
    void socket.join(room(sessionId));
    // The workers it is shown, and the kinds it is offered, are those serving its tenant (auth/worker-visibility.ts).
    const scope = clusterTenant(principal);
    void socket.join(clusterRoom(scope));
    const summary = this.options.cluster(scope);
    socket.emit('session', {
      session_id: sessionId,
      kinds: summary.kinds,
      ...(this.options.maxInputBytes !== undefined && { max_input_bytes: this.options.maxInputBytes }),
    });
    socket.emit('cluster', summary);
    // A browser coming back gets what its session ran while it was away.
    // Bounded in bytes and back-pressured: one answer at a time, the next once this one is written.
    const resume = () => {
      const o = { ...REPLAY_DEFAULTS, ...this.options.replay };
      const chosen = replaySelection(tasks.store.bySession(sessionId, o.maxTasks), o);
      void replay(socket.conn as unknown as ReplayConnection, chosen, (t) => {
        // The view is taken when it is sent: a task that moved on meanwhile is sent as it is now.
        if (TERMINAL_STATUSES.has(t.status)) socket.emit('task:done', taskView(t));
        else socket.emit('task:update', taskView(t));
      }, o.pollMs);
    };
    // A PostgreSQL store reads the session's finished tasks it no longer caches first.
    if (resumed && tasks.store.preload) void tasks.store.preload({ sessionId, limit: 50 }).then(resume, resume);
    else if (resumed) resume();

    socket.on('task:submit', async (request, ack) => {
      if (typeof ack !== 'function') return this.options.onInvalid?.('task:submit without ack');
      this.sessions.touch(sessionId);
      this.outbox.hold(sessionId);
      try {
        const body = parseBody(submitRequest, request);
        const input = (body.input ?? null) as unknown;
        assertJsonValue(input, 'input');
        const { task } = await tasks.submit({
          kind: body.kind,
          input: input as JsonValue,
          priority: body.priority,
          deadlineMs: body.deadline_ms,
          deadlineAtMs: body.deadline_at === undefined ? undefined : Date.parse(body.deadline_at),
          sessionId,
          secrets: body.api_key ? { provider_api_key: body.api_key } : undefined,
          owner: principal.id,
          tenant: principal.tenant,
        });
        ack({ ok: true, data: taskView(task), ...clientRef(request) });
        // Its events follow its ack, not the session's other submits (a task already final, e.g. an idempotent repeat, has no more to follow).
        this.outbox.acked(sessionId, task.id, !TERMINAL_STATUSES.has(task.status));
      } catch (err) {
        this.options.onInvalid?.(errorMessage(err));
        ack({ ...fail(err), ...clientRef(request) });
      } finally {
        this.outbox.release(sessionId); // after the ack: its task's events follow it
      }
    });
    socket.on('task:cancel', (request, ack) => {
      if (typeof ack !== 'function') return this.options.onInvalid?.('task:cancel without ack');
      try {
        const { id } = parseBody(cancelRequest, request);
        const task = tasks.require(id);
        if (task.sessionId !== sessionId) throw new TaskwireError('FORBIDDEN', 'task belongs to another session');
        ack({ ok: true, data: taskView(tasks.cancel(id)) });
      } catch (err) {
        ack(fail(err));
      }
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.io.disconnectSockets(true);
    // io.close() would also close the HTTP server; the HttpServer owner does that.
    this.io.engine.close();
  }
}
