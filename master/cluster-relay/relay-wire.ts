/**
 * The payload of `{root}/masters/{id}/chunks` (multi-master chunk relay):
 * JSON, one message per target master per event-loop turn, the items of
 * that turn in the order the sending master saw them. A `done` item says
 * the task's final row is committed (the receiver reads it from the store:
 * results never travel here). An `update` item is a browser session task's
 * `task:update` view (assigned, started, retried: no input, no result yet). Only masters may publish or read these
 * topics (transport/broker-policy.ts, deploy/mosquitto/acl).
 */
import { z } from 'zod';
import type { JsonValue } from '../../common/json-value.js';

const id = z.string().min(1).max(256);

const chunkItem = z.object({
  type: z.literal('chunk'),
  task_id: id,
  session_id: id.nullable(),
  attempt: z.number().int().min(0),
  seq: z.number().int().min(0),
  text: z.string(),
  data: z.unknown().optional(),
});

const doneItem = z.object({
  type: z.literal('done'),
  task_id: id,
  session_id: id.nullable(),
});

const updateItem = z.object({
  type: z.literal('update'),
  task_id: id,
  session_id: id,
  /** The TaskView as the running master sent it to its own sockets (common/task-view.ts). */
  view: z.object({ id, status: z.string().min(1), result: z.null().optional() }).passthrough(),
});

export const relayMessage = z.object({
  v: z.literal(1),
  from: id,
  items: z.array(z.discriminatedUnion('type', [chunkItem, doneItem, updateItem])).max(100_000),
});

export type RelayItem = z.infer<typeof chunkItem> | z.infer<typeof doneItem> | z.infer<typeof updateItem>;
export type RelayedUpdate = z.infer<typeof updateItem>;
export type RelayedChunk = Omit<z.infer<typeof chunkItem>, 'data'> & { data: JsonValue | null };
export type RelayMessage = z.infer<typeof relayMessage>;

/** Text characters per message before a turn's items are split (well under the 4 MiB packet limit). */
export const MAX_MESSAGE_CHARS = 512 * 1024;

export function encodeRelay(from: string, items: RelayItem[]): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, from, items }));
}

/** The message, or undefined when it is not one (the reason goes to `invalid`). */
export function decodeRelay(payload: Buffer, invalid: (reason: string) => void): RelayMessage | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch {
    invalid('not JSON');
    return undefined;
  }
  const r = relayMessage.safeParse(raw);
  if (!r.success) {
    invalid(r.error.issues[0] ? `${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}` : 'invalid');
    return undefined;
  }
  return r.data;
}
