/**
 * What the web dashboard (web/dashboard/) reads beyond the plain REST API,
 * operators and admins only (it shows every caller's tasks and their inputs):
 *   GET /api/v1/dashboard/tasks?status=&kind=&worker=&limit=  newest first, filtered server side
 *   GET /api/v1/dashboard/tasks/:id   the task view plus its input (cut at 64 KiB)
 *   GET /api/v1/dashboard/queue       queued tasks by kind and priority (at most 1 s old)
 *   GET /api/v1/dashboard/queue/tasks?kind=&limit=  queued tasks in the order they will run
 *       (per requirement: kind [+ model]), each with its position and estimated wait
 * The filters scan a bounded number of the newest tasks (like the bulk
 * routes); `truncated: true` says the scan stopped before the store's end.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { TASK_STATUSES } from '../../common/task-view.js';
import type { JsonValue } from '../../common/json-value.js';
import { taskView, type TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import { principalOf, requireOperator } from './auth/http-auth.js';
import { listingTenant, visibleTask } from './auth/task-visibility.js';
import { sendError } from './http-errors.js';
import { parseBody } from './rest-api.js';

/** Most tasks one filtered listing looks at. */
const MAX_SCAN = 20_000;
/** How long one GET /dashboard/queue answer is reused (for the same tenant). */
const QUEUE_SUMMARY_MS = 1000;
/** Longest input (as JSON text) the detail returns whole. */
export const MAX_INPUT_CHARS = 64 * 1024;

export const queueQuery = z
  .object({
    kind: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

export const listQuery = z
  .object({
    status: z.enum(TASK_STATUSES).optional(),
    kind: z.string().min(1).max(64).optional(),
    worker: z.string().min(1).max(128).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

export interface TaskInputView {
  input: JsonValue | null;
  /** The input as JSON text, cut at MAX_INPUT_CHARS, when it is larger. */
  input_preview: string | null;
  input_truncated: boolean;
}

export function inputView(t: TaskRecord): TaskInputView {
  const text = JSON.stringify(t.input) ?? 'null';
  if (text.length <= MAX_INPUT_CHARS) return { input: t.input, input_preview: null, input_truncated: false };
  return { input: null, input_preview: text.slice(0, MAX_INPUT_CHARS), input_truncated: true };
}

export function dashboardRoutes(tasks: TaskService): Router {
  const r = Router();
  r.get('/dashboard/tasks', (req, res) => {
    try {
      const p = principalOf(res);
      requireOperator(p);
      const q = parseBody(listQuery, req.query);
      const filtered = q.kind !== undefined || q.worker !== undefined;
      const scan = filtered ? MAX_SCAN : q.limit;
      const rows = tasks.list({ status: q.status, tenant: listingTenant(p), limit: scan });
      const found = rows.filter((t) => (q.kind === undefined || t.kind === q.kind) && (q.worker === undefined || t.workerId === q.worker)).slice(0, q.limit);
      res.json({ tasks: found.map(taskView), truncated: filtered && rows.length === scan && found.length < q.limit });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/dashboard/tasks/:id', (req: Request<{ id: string }>, res) => {
    try {
      const p = principalOf(res);
      requireOperator(p);
      const t = visibleTask(tasks, p, req.params.id);
      const standing = t.status === 'queued' ? tasks.standing(t.id) : undefined;
      res.json({
        task: taskView(t),
        ...inputView(t),
        session_id: t.sessionId,
        max_attempts: t.maxAttempts,
        queue_position: standing?.position ?? null,
        eta_ms: standing?.etaMs ?? null,
      });
    } catch (err) {
      sendError(res, err);
    }
  });
  /** The queue summary per listing tenant ('' = every tenant), at most QUEUE_SUMMARY_MS old. */
  const queueSummaries = new Map<string, { at: number; body: string }>();
  r.get('/dashboard/queue', (_req, res) => {
    try {
      const p = principalOf(res);
      requireOperator(p);
      const tenant = listingTenant(p);
      // Every open overview polls this (a scan of up to 20,000 queued tasks): one answer per tenant per second serves them all.
      const key = tenant ?? '';
      const now = performance.now();
      let cached = queueSummaries.get(key);
      if (cached === undefined || now - cached.at >= QUEUE_SUMMARY_MS) {
        const rows = tasks.list({ status: 'queued', tenant, limit: MAX_SCAN });
        const by = new Map<string, { kind: string; priority: number; queued: number }>();
        for (const t of rows) {
          const k = `${t.kind}\u0000${t.priority}`;
          const e = by.get(k) ?? { kind: t.kind, priority: t.priority, queued: 0 };
          e.queued++;
          by.set(k, e);
        }
        const groups = [...by.values()].sort((a, b) => a.kind.localeCompare(b.kind) || b.priority - a.priority);
        const body = JSON.stringify({ groups, total: rows.length, truncated: rows.length === MAX_SCAN });
        if (queueSummaries.size >= 1000) queueSummaries.clear(); // bounded: tenants are few, but keys may name many
        queueSummaries.set(key, (cached = { at: now, body }));
      }
      res.type('application/json').send(cached.body);
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/dashboard/queue/tasks', (req, res) => {
    try {
      const p = principalOf(res);
      requireOperator(p);
      const q = parseBody(queueQuery, req.query);
      const rows = tasks.list({ status: 'queued', tenant: listingTenant(p), limit: MAX_SCAN });
      const placed = rows
        .filter((t) => q.kind === undefined || t.kind === q.kind)
        .map((t) => ({ t, standing: tasks.standing(t.id) }))
        .filter((x): x is { t: TaskRecord; standing: { position: number; etaMs: number | null } } => x.standing !== undefined)
        .sort((a, b) => a.t.key.localeCompare(b.t.key) || a.standing.position - b.standing.position)
        .slice(0, q.limit);
      res.json({
        tasks: placed.map(({ t, standing }) => ({
          ...taskView(t),
          model: t.requirement.model ?? null,
          queue_position: standing.position,
          eta_ms: standing.etaMs,
        })),
        truncated: rows.length === MAX_SCAN,
      });
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}
