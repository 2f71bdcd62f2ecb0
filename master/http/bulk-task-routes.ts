/**
 * Bulk actions by filter (operator): `POST /api/v1/tasks/bulk/cancel` and
 * `POST /api/v1/tasks/bulk/retry` with `{filter: {status?, kind?, worker?},
 * dry_run?, limit?}`. The filter selects from the newest tasks of each status
 * the action applies to (cancel: queued, assigned, running; retry: failed,
 * expired, cancelled); `dry_run: true` only reports how many match. Every
 * change goes through TaskService (`cancel`, `retry`), one task at a time.
 * Answers `{action, dry_run, matched, affected, task_ids, truncated}`:
 * `task_ids` are the matching tasks (at most the first 1000), `affected`
 * how many were cancelled / retried as a new task (0 for a dry run), and
 * `truncated` says the scan stopped at `limit` matching tasks.
 */
import { Router } from 'express';
import { z } from 'zod';
import { ValidationError } from '../../common/errors.js';
import type { TaskStatus } from '../../common/task-view.js';
import type { TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import { principalOf, requireOperator } from './auth/http-auth.js';
import { listingTenant } from './auth/task-visibility.js';
import { sendError } from './http-errors.js';
import { parseBody } from './rest-api.js';

const ACTION_STATUSES: Record<'cancel' | 'retry', readonly TaskStatus[]> = {
  cancel: ['queued', 'assigned', 'running'],
  retry: ['failed', 'expired', 'cancelled'],
};

/** The body of POST /tasks/bulk/{cancel,retry} (also in the OpenAPI document). */
export const bulkBody = z
  .object({
    filter: z
      .object({
        status: z.string().min(1).max(64).optional(),
        kind: z.string().min(1).max(64).optional(),
        worker: z.string().min(1).max(128).optional(),
      })
      .strict()
      .default({}),
    dry_run: z.boolean().default(false),
    limit: z.number().int().min(1).max(10_000).default(1000),
  })
  .strict();

const MAX_IDS = 1000;

export function bulkTaskRoutes(tasks: TaskService): Router {
  const r = Router();
  const match = (action: 'cancel' | 'retry', body: z.infer<typeof bulkBody>, tenant: string | undefined): { found: TaskRecord[]; truncated: boolean } => {
    const allowed = ACTION_STATUSES[action];
    const { status, kind, worker } = body.filter;
    if (status !== undefined && !allowed.includes(status as TaskStatus)) {
      throw new ValidationError('filter.status', `${action} applies to ${allowed.join(', ')} tasks, not "${status}"`);
    }
    const found: TaskRecord[] = [];
    let truncated = false;
    for (const s of status !== undefined ? [status] : allowed) {
      const room = body.limit - found.length;
      if (room <= 0) {
        truncated = true;
        break;
      }
      // Over-read so a kind/worker filter still finds `room` matches among recent tasks.
      const scan = kind === undefined && worker === undefined ? room : Math.min(100_000, room * 10);
      const rows = tasks.list({ status: s, tenant, limit: scan });
      for (const t of rows) {
        if (kind !== undefined && t.kind !== kind) continue;
        if (worker !== undefined && t.workerId !== worker) continue;
        if (found.length >= body.limit) {
          truncated = true;
          break;
        }
        found.push(t);
      }
      if (rows.length === scan) truncated = true;
    }
    return { found, truncated };
  };
  for (const action of ['cancel', 'retry'] as const) {
    r.post(`/tasks/bulk/${action}`, async (req, res) => {
      try {
        const p = principalOf(res);
        requireOperator(p);
        const body = parseBody(bulkBody, req.body ?? {});
        const { found, truncated } = match(action, body, listingTenant(p)); // a tenant's operator: its tenant's tasks only
        let affected = 0;
        if (!body.dry_run) {
          for (const t of found) {
            if (action === 'cancel') {
              tasks.cancel(t.id, `cancelled by ${p.id} (bulk)`);
              affected++;
            } else if ((await tasks.retry(t.id, p.id)).created) affected++;
          }
        }
        res.json({ action, dry_run: body.dry_run, matched: found.length, affected, task_ids: found.slice(0, MAX_IDS).map((t) => t.id), truncated });
      } catch (err) {
        sendError(res, err);
      }
    });
  }
  return r;
}
