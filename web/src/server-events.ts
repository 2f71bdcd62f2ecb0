/**
 * Parses what the master sends over Socket.IO before the UI touches it.
 * The types in common/socket-events.ts say what the master means to send;
 * these schemas check what actually arrived (an older or newer master, a
 * proxy, a bug) and keep only the fields the chat shows.
 */
import * as z from 'zod/mini';

const nullableString = z.nullable(z.string());
const nullableMs = z.nullable(z.number());

export const sessionInfo = z.object({
  session_id: z.string(),
  kinds: z.array(z.string()),
  /** The master's largest task input (TASKWIRE_MAX_INPUT_BYTES); absent from older masters. */
  max_input_bytes: z.optional(z.number()),
});
export type SessionInfo = z.infer<typeof sessionInfo>;

export const taskInfo = z.object({
  id: z.string(),
  kind: z.string(),
  /** Kept as a string: a status this build does not know is shown as is. */
  status: z.string(),
  attempt: z.number(),
  worker_id: nullableString,
  worker_language: nullableString,
  result: z.optional(z.unknown()),
  error: z.nullable(z.object({ code: z.string(), message: z.string() })),
  timings: z.object({
    queue_wait_ms: nullableMs,
    processing_ms: nullableMs,
    total_ms: nullableMs,
    ttft_ms: z.optional(nullableMs),
  }),
  usage: z.optional(
    z.nullable(z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() })),
  ),
  /** A queued task: tasks of its kind that run before it (0 = next), and the estimated ms until it starts. */
  queue_position: z.optional(z.number()),
  eta_ms: z.optional(nullableMs),
});
export type TaskInfo = z.infer<typeof taskInfo>;

export const chunkInfo = z.object({
  id: z.string(),
  /** Which attempt produced it; a higher one voids the text shown so far (older masters: 1). */
  attempt: z.optional(z.number()),
  seq: z.number(),
  text: z.string(),
});
export type ChunkInfo = z.infer<typeof chunkInfo>;

export const clusterInfo = z.object({
  workers: z.object({ online: z.number(), idle: z.number(), busy: z.number(), draining: z.number(), offline: z.number() }),
  queued: z.number(),
  running: z.number(),
  capacity: z.number(),
  /** Kinds served now; refreshes the selector when workers come and go. */
  kinds: z.optional(z.array(z.string())),
});
export type ClusterInfo = z.infer<typeof clusterInfo>;

export const ackError = z.object({ code: z.string(), message: z.string() });
export type AckError = z.infer<typeof ackError>;

const ackShape = z.object({ ok: z.boolean(), data: z.optional(z.unknown()), error: z.optional(z.unknown()) });
const UNREADABLE: AckError = { code: 'PROTOCOL', message: 'The server sent an unreadable reply.' };

/** An ack is `{ok:true, data}` or `{ok:false, error}`. */
export function parseAck<T>(
  schema: z.ZodMiniType<T>,
  response: unknown,
): { ok: true; data: T } | { ok: false; error: AckError } {
  const shape = ackShape.safeParse(response);
  if (!shape.success) return { ok: false, error: UNREADABLE };
  if (!shape.data.ok) {
    const error = ackError.safeParse(shape.data.error);
    return { ok: false, error: error.success ? error.data : { code: 'UNKNOWN', message: 'The server refused the request.' } };
  }
  const data = schema.safeParse(shape.data.data);
  if (!data.success) return { ok: false, error: UNREADABLE };
  return { ok: true, data: data.data };
}

/**
 * The text a finished task produced, when its result is text: a string, or an
 * object with a string `text` (echo) / `content` (llm). Otherwise null, and
 * the chat shows the result as JSON.
 */
export function resultText(result: unknown): string | null {
  if (typeof result === 'string') return result;
  if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
    const record = result as Record<string, unknown>;
    for (const key of ['text', 'content', 'output']) {
      const value = record[key];
      if (typeof value === 'string') return value;
    }
  }
  return null;
}
