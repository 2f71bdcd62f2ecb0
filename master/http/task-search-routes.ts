/**
 * Server-side task search over the whole stored history:
 *   GET /api/v1/tasks          filters, full-text `q`, newest first, `next_cursor` pages
 *   GET /api/v1/tasks/export   the same filter as CSV, JSON Lines or a JSON array, streamed
 *                              page by page with backpressure (no page cap, bounded memory)
 * Mounted before rest-api.ts, whose older `GET /tasks` (status, limit) it
 * answers with a superset. A tenant's operator or admin lists its tenant's
 * tasks (a cluster operator every tenant's); a user key its own tasks only
 * (auth/task-visibility.ts, `listingScope`).
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { schemaValidationError } from '../../common/schema-issue.js';
import { TASK_STATUSES } from '../../common/task-view.js';
import { taskView, type TaskRecord } from '../core/task-record.js';
import type { TaskStore } from '../store/task-store.js';
import { scanSearch, type TaskSearchPage, type TaskSearchQuery } from '../store/task-search.js';
import { principalOf, requireScope } from './auth/http-auth.js';
import { listingScope } from './auth/task-visibility.js';

type ListingScope = ReturnType<typeof listingScope>;
import { sendError } from './http-errors.js';
import { cursorParam, timeParam } from './query-params.js';

const filterFields = {
  status: z
    .string()
    .max(200)
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(TASK_STATUSES)).min(1))
    .optional()
    .meta({ description: 'one status or a comma list (queued, assigned, running, succeeded, failed, cancelled, expired)' }),
  kind: z.string().min(1).max(64).optional(),
  model: z.string().min(1).max(256).optional(),
  worker: z.string().min(1).max(128).optional(),
  priority: z.coerce.number().int().min(0).max(9).optional(),
  session: z.string().min(1).max(128).optional(),
  since: timeParam.optional().meta({ description: 'created at or after (ms since the epoch or ISO 8601)' }),
  until: timeParam.optional().meta({ description: 'created before (ms since the epoch or ISO 8601)' }),
  q: z.string().min(1).max(200).optional().meta({ description: 'words that must all occur in the input, result or error (full-text)' }),
};

export const taskListQuery = z
  .object({ ...filterFields, cursor: cursorParam.optional(), limit: z.coerce.number().int().min(1).max(1000).default(50) })
  .strict();

export const taskExportQuery = z.object({ ...filterFields, format: z.enum(['csv', 'jsonl', 'json']).default('jsonl') }).strict();

function searchQuery(q: z.infer<typeof taskExportQuery> | z.infer<typeof taskListQuery>, limit: number, cursor: string | undefined, scope: ListingScope): TaskSearchQuery {
  return {
    ...scope,
    statuses: q.status,
    kind: q.kind,
    model: q.model,
    workerId: q.worker,
    priority: q.priority,
    sessionId: q.session,
    createdSinceMs: q.since,
    createdUntilMs: q.until,
    text: q.q,
    cursor,
    limit,
  };
}

/** Most records a store without its own search is scanned over (the memory store holds fewer). */
const SCAN_LIMIT = 100_000;
const EXPORT_PAGE = 500;

/** A store's own search (SQLite: synchronous; PostgreSQL: a query), else a scan of what it holds. */
export async function searchTasks(store: TaskStore, q: TaskSearchQuery): Promise<TaskSearchPage> {
  return store.search ? store.search(q) : scanSearch(store.list({ limit: SCAN_LIMIT }), q);
}

export const CSV_COLUMNS = ['id', 'kind', 'model', 'status', 'priority', 'attempt', 'worker_id', 'created_at', 'finished_at', 'queue_wait_ms', 'processing_ms', 'error_code', 'error_message', 'input', 'result'] as const;

/** One CSV cell (RFC 4180 quoting; a text cell that a spreadsheet would run as a formula gets a leading `'`). */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let s = typeof v === 'string' ? v : JSON.stringify(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRow(t: TaskRecord): string {
  const v = taskView(t);
  const cells: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    id: v.id, kind: v.kind, model: t.requirement.model ?? null, status: v.status, priority: v.priority, attempt: v.attempt, worker_id: v.worker_id,
    created_at: v.created_at, finished_at: v.finished_at, queue_wait_ms: v.timings.queue_wait_ms, processing_ms: v.timings.processing_ms,
    error_code: v.error?.code ?? null, error_message: v.error?.message ?? null, input: t.input, result: v.result,
  };
  return `${CSV_COLUMNS.map((c) => csvCell(cells[c])).join(',')}\r\n`;
}

const exportView = (t: TaskRecord) => ({ ...taskView(t), model: t.requirement.model ?? null, input: t.input });

function parseQuery<T>(schema: z.ZodType<T>, req: Request): T {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) throw schemaValidationError(parsed.error, '', 'query');
  return parsed.data;
}

export function taskSearchRoutes(store: TaskStore): Router {
  const r = Router();
  r.get('/tasks', async (req, res) => {
    try {
      const p = principalOf(res);
      requireScope(p, 'read');
      const q = parseQuery(taskListQuery, req);
      const page = await searchTasks(store, searchQuery(q, q.limit, q.cursor, listingScope(p))); // a tenant's operator: its tenant; a user key: its own tasks
      res.json({ tasks: page.tasks.map(taskView), next_cursor: page.nextCursor });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/tasks/export', async (req, res) => {
    let q: z.infer<typeof taskExportQuery>;
    const p = principalOf(res);
    try {
      requireScope(p, 'read');
      q = parseQuery(taskExportQuery, req);
      await searchTasks(store, searchQuery(q, 1, undefined, listingScope(p))); // a bad filter fails here, before the 200
    } catch (err) {
      sendError(res, err);
      return;
    }
    void streamExport(req, res, store, q, listingScope(p));
  });
  return r;
}

async function streamExport(req: Request, res: Response, store: TaskStore, q: z.infer<typeof taskExportQuery>, scope: ListingScope): Promise<void> {
  const type = q.format === 'csv' ? 'text/csv; charset=utf-8' : q.format === 'json' ? 'application/json; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
  res.writeHead(200, { 'content-type': type, 'content-disposition': `attachment; filename="tasks.${q.format}"`, 'cache-control': 'no-store' });
  let closed = false;
  req.on('close', () => (closed = true));
  const write = async (chunk: string): Promise<void> => {
    if (!res.write(chunk) && !closed) await new Promise<void>((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
  };
  if (q.format === 'csv') await write(`${CSV_COLUMNS.join(',')}\r\n`);
  if (q.format === 'json') await write('[');
  let cursor: string | undefined;
  let first = true;
  try {
    while (!closed) {
      const page = await searchTasks(store, searchQuery(q, EXPORT_PAGE, cursor, scope));
      let chunk = '';
      for (const t of page.tasks) {
        if (q.format === 'csv') chunk += csvRow(t);
        else if (q.format === 'jsonl') chunk += `${JSON.stringify(exportView(t))}\n`;
        else (chunk += `${first ? '' : ','}\n${JSON.stringify(exportView(t))}`), (first = false);
      }
      if (chunk) await write(chunk);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
      await new Promise((r) => setImmediate(r)); // let the master dispatch between pages
    }
    if (q.format === 'json') await write('\n]\n');
  } catch {
    // the store failed mid-export: end the body; the client sees a truncated file (no closing bracket)
  }
  res.end();
}
