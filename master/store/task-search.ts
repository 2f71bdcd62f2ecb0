/**
 * Server-side task search (GET /api/v1/tasks, /tasks/export): the query a
 * store answers, newest first in pages with an opaque cursor, and the plain
 * scan a store without an index uses (the memory store: it holds at most
 * its bounded cache). Text matches every word in the task's input, result
 * or error (case-insensitive; a durable store uses its full-text index).
 */
import { ValidationError } from '../../common/errors.js';
import type { TaskRecord } from '../core/task-record.js';

export interface TaskSearchQuery {
  /** Any of these statuses. */
  statuses?: readonly string[];
  kind?: string;
  model?: string;
  workerId?: string;
  priority?: number;
  sessionId?: string;
  /** Only this tenant's tasks (a tenant's key; undefined: every tenant, for a cluster operator). */
  tenant?: string;
  /** Only the tasks submitted by these principal ids (a user key: its own and its user's keys; undefined: every owner). */
  owners?: readonly string[];
  /** Created at or after (ms since the epoch). */
  createdSinceMs?: number;
  /** Created before (ms since the epoch). */
  createdUntilMs?: number;
  /** Words that must all occur in input, result or error text. */
  text?: string;
  /** next_cursor of the previous page. */
  cursor?: string;
  limit: number;
}

export interface TaskSearchPage {
  tasks: TaskRecord[];
  /** Where the next page starts, or null after the last one. */
  nextCursor: string | null;
}

/** The words of a text query (letters, digits, `_`; at most 16), lower case. */
export function searchWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 16);
}

/** `<tag>:<position>` as base64url: opaque to clients, checked on the way back. */
export function encodeTaskCursor(tag: string, position: number): string {
  return Buffer.from(`${tag}:${position}`).toString('base64url');
}

export function decodeTaskCursor(cursor: string, tags: readonly string[]): { tag: string; position: number } {
  const m = /^([a-z]+):(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || !tags.includes(m[1]!)) throw new ValidationError('cursor', 'not a cursor of this listing (pass next_cursor of the previous page with the same filters)');
  return { tag: m[1]!, position: Number(m[2]) };
}

/** A value as the text search sees it: a string as it is, anything else as JSON. */
export const textOf = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

/** Whether a record matches everything but the cursor. */
export function matchesSearch(t: TaskRecord, q: TaskSearchQuery, words = q.text === undefined ? undefined : searchWords(q.text)): boolean {
  if (q.statuses && !q.statuses.includes(t.status)) return false;
  if (q.kind !== undefined && t.kind !== q.kind) return false;
  if (q.model !== undefined && t.requirement.model !== q.model) return false;
  if (q.workerId !== undefined && t.workerId !== q.workerId) return false;
  if (q.priority !== undefined && t.priority !== q.priority) return false;
  if (q.sessionId !== undefined && t.sessionId !== q.sessionId) return false;
  if (q.tenant !== undefined && t.tenant !== q.tenant) return false;
  if (q.owners !== undefined && (t.owner === null || !q.owners.includes(t.owner))) return false;
  if (q.createdSinceMs !== undefined && t.createdAtMs < q.createdSinceMs) return false;
  if (q.createdUntilMs !== undefined && t.createdAtMs >= q.createdUntilMs) return false;
  if (words !== undefined) {
    if (words.length === 0) return false;
    const hay = `${textOf(t.input)} ${textOf(t.result)} ${t.error ? `${t.error.code} ${t.error.message}` : ''}`.toLowerCase();
    for (const w of words) if (!hay.includes(w)) return false;
  }
  return true;
}

/** A scan over records in any order: newest first by admission `seq`, cursor = seq. */
export function scanSearch(records: Iterable<TaskRecord>, q: TaskSearchQuery): TaskSearchPage {
  const before = q.cursor === undefined ? Infinity : decodeTaskCursor(q.cursor, ['s']).position;
  const words = q.text === undefined ? undefined : searchWords(q.text);
  const hits: TaskRecord[] = [];
  for (const t of records) if (t.seq < before && matchesSearch(t, q, words)) hits.push(t);
  hits.sort((a, b) => b.seq - a.seq);
  const page = hits.slice(0, q.limit);
  return { tasks: page, nextCursor: hits.length > q.limit ? encodeTaskCursor('s', page.at(-1)!.seq) : null };
}
