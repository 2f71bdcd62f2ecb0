/**
 * The Socket.IO contract between the master and the browser chat.
 * Server: `new Server<ClientToServerEvents, ServerToClientEvents>()`;
 * client: `io() as Socket<ServerToClientEvents, ClientToServerEvents>`.
 *
 * A browser identifies its session with `auth: { sessionId }` in the handshake
 * (a new id is issued when missing or malformed and sent back in `session`).
 * With API keys configured the handshake must carry one: `auth: { apiKey }`
 * (or an `Authorization: Bearer` header); otherwise `connect_error` says
 * `UNAUTHENTICATED: ...`. A browser page from a foreign Origin is refused.
 * Every task submitted from a session streams its events to all sockets of
 * that session.
 */
import type { JsonValue } from './json-value.js';
import type { ClusterView, TaskView } from './task-view.js';

export interface SubmitTaskRequest {
  kind: string;
  input: JsonValue;
  priority?: number;
  /** Client-side reference echoed back in the ack (`client_ref`), to match it to a pending bubble. */
  client_ref?: string;
  /**
   * The user's own provider API key for this task (llm). Kept in the master's
   * memory only, released over gRPC to the worker running the task; never on
   * MQTT, in logs or in stored records.
   */
  api_key?: string;
}

/** An ack; a `task:submit` ack carries the request's `client_ref` back. */
export type Ack<T> = (
  response: ({ ok: true; data: T } | { ok: false; error: { code: string; message: string } }) & { client_ref?: string },
) => void;

export interface ClientToServerEvents {
  'task:submit': (request: SubmitTaskRequest, ack: Ack<TaskView>) => void;
  'task:cancel': (request: { id: string }, ack: Ack<TaskView>) => void;
}

export interface TaskChunkEvent {
  id: string;
  /**
   * The attempt that produced this chunk (1, 2, ...). `seq` restarts with every
   * attempt: a chunk of a higher attempt means the earlier output is void, and a
   * client shows only the newest attempt's text.
   */
  attempt: number;
  seq: number;
  text: string;
  data: JsonValue | null;
}

export interface ServerToClientEvents {
  /** Sent on connect: the session id to keep (e.g. in localStorage). */
  session: (info: { session_id: string; kinds: string[]; max_input_bytes?: number }) => void;
  /**
   * Status changes: queued, assigned, running. While a task is queued it is
   * also sent (with the cluster tick, when it moved) with `queue_position`
   * (tasks before it, 0 = next) and `eta_ms` (estimated ms until it starts).
   */
  'task:update': (task: TaskView) => void;
  /** A streamed piece of output. */
  'task:chunk': (chunk: TaskChunkEvent) => void;
  /** Final: succeeded, failed, cancelled or expired, with result and metadata. */
  'task:done': (task: TaskView) => void;
  /** Periodic cluster summary (about once a second). */
  cluster: (status: ClusterView) => void;
}
