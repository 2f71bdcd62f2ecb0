/**
 * What a browser coming back to its session gets: the session's recent tasks,
 * bounded and back-pressured, so that many joiners that never read cannot
 * make the master hold their answers many times over.
 *
 * - Bounded: the newest tasks whose payloads fit `maxBytes` (the newest one
 *   always), at most `maxTasks`; older answers stay readable over REST.
 * - Back-pressured: one task at a time, the next only once the connection has
 *   handed the previous one to the operating system. A client that stops
 *   reading holds at most one answer in the master's memory, and its replay
 *   ends when the connection closes (engine.io drops it at its ping timeout).
 * - Shared: the records are the store's (one copy for every joiner); only the
 *   packet being written is per connection.
 */
import type { TaskRecord } from '../core/task-record.js';
import { approxPayloadBytes } from '../store/payload-bytes.js';

export interface ReplayOptions {
  /** Payload bytes one replay may send (estimate as the finished-task cache counts them). */
  maxBytes: number;
  maxTasks: number;
  /** How often a stalled connection is looked at again (ms). */
  pollMs: number;
}

export const REPLAY_DEFAULTS: ReplayOptions = { maxBytes: 16 * 1024 * 1024, maxTasks: 50, pollMs: 20 };

/** The part of an engine.io connection the replay looks at. */
export interface ReplayConnection {
  readonly writeBuffer: readonly unknown[];
  readonly transport: { readonly writable: boolean } | undefined;
  readonly readyState: string;
}

/** Newest first in, oldest first out: the tasks a replay sends, within its bounds. */
export function replaySelection(newestFirst: readonly TaskRecord[], o: Pick<ReplayOptions, 'maxBytes' | 'maxTasks'>): TaskRecord[] {
  const out: TaskRecord[] = [];
  let bytes = 0;
  for (const t of newestFirst) {
    if (out.length >= o.maxTasks) break;
    const size = approxPayloadBytes(t.result) + approxPayloadBytes(t.error as never);
    if (out.length > 0 && bytes + size > o.maxBytes) break;
    bytes += size;
    out.push(t);
  }
  return out.reverse();
}

const idle = (c: ReplayConnection) => c.writeBuffer.length === 0 && c.transport?.writable !== false;

/**
 * Sends each task with `emit` once the connection has written the previous
 * one; resolves with how many were sent (fewer when the connection closed).
 */
export async function replay(conn: ReplayConnection, tasks: readonly TaskRecord[], emit: (t: TaskRecord) => void, pollMs = REPLAY_DEFAULTS.pollMs): Promise<number> {
  let sent = 0;
  for (const t of tasks) {
    while (!idle(conn)) {
      if (conn.readyState === 'closed' || conn.readyState === 'closing') return sent;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    if (conn.readyState !== 'open') return sent;
    emit(t);
    sent++;
  }
  return sent;
}
