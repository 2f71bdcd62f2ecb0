/**
 * REST API v1: tasks, workers, cluster. Bodies are validated with zod; a bad
 * body gets 400 naming the field.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { ValidationError } from '../../common/errors.js';
import { assertJsonValue, type JsonValue } from '../../common/json-value.js';
import { schemaValidationError } from '../../common/schema-issue.js';
import { submitFields } from '../../common/task-kinds.js';
import { TASK_STATUSES } from '../../common/task-view.js';
import { taskView } from '../core/task-record.js';
import type { SubmitRequest, TaskService } from '../core/task-service.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';
import { principalOf, requireOperator } from './auth/http-auth.js';
import { listingTenant, visibleTask } from './auth/task-visibility.js';
import { clusterTenant, seesWorker } from './auth/worker-visibility.js';
import { hasScope, ownersOf } from './auth/principal.js';
import { sendError } from './http-errors.js';
import type { ClusterView } from '../../common/task-view.js';

export const submitBody = z
  .object({
    ...submitFields,
    idempotency_key: z.string().min(1).max(256).optional(),
    timeout_ms: z.number().int().min(1).max(7 * 24 * 3600 * 1000).optional(),
    queue_timeout_ms: z.number().int().min(0).max(30 * 24 * 3600 * 1000).optional(),
    heartbeat_timeout_ms: z.number().int().min(200).max(24 * 3600 * 1000).optional(),
    max_attempts: z.number().int().min(1).max(100).optional(),
  })
  .strict();

/** Most tasks one batch submit may carry (the body size limit applies too). */
export const MAX_BATCH_TASKS = 1000;

const batchBody = z.object({ tasks: z.array(submitBody).min(1).max(MAX_BATCH_TASKS) }).strict();

function submitRequest(body: z.infer<typeof submitBody>, at: string): SubmitRequest {
  const input = (body.input ?? null) as unknown;
  assertJsonValue(input, `${at}input`);
  return {
    kind: body.kind,
    input: input as JsonValue,
    priority: body.priority,
    idempotencyKey: body.idempotency_key,
    timeoutMs: body.timeout_ms,
    queueTimeoutMs: body.queue_timeout_ms,
    heartbeatTimeoutMs: body.heartbeat_timeout_ms,
    maxAttempts: body.max_attempts,
    deadlineMs: body.deadline_ms,
    deadlineAtMs: body.deadline_at === undefined ? undefined : Date.parse(body.deadline_at),
  };
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined) throw new ValidationError('body', 'expected a JSON object (Content-Type: application/json)');
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw schemaValidationError(parsed.error, '', 'body');
  return parsed.data;
}

const listQuery = z.object({
  status: z.enum(TASK_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

export interface RestApiDeps {
  tasks: TaskService;
  registry: WorkerRegistry;
  /** The cluster summary; with a tenant, only what it may see (auth/worker-visibility.ts). */
  cluster: (tenant?: string) => ClusterView;
  /** Several masters: where a task waiting in the shared pool stands (store/pool-standings.ts), when it is pooled. */
  poolStanding?: (id: string) => Promise<{ position: number; etaMs: number | null } | undefined>;
}

export function restApi({ tasks, registry, cluster, poolStanding }: RestApiDeps): Router {
  const r = Router();
  r.post('/tasks', async (req, res) => {
    try {
      const p = principalOf(res);
      const { task, created } = await tasks.submit({ ...submitRequest(parseBody(submitBody, req.body), ''), owner: p.id, tenant: p.tenant, ...(!hasScope(p, 'operate') && { visibleOwners: ownersOf(p) }) }); // durable before we acknowledge
      res.status(created ? 202 : 200).location(`/api/v1/tasks/${task.id}`).json(taskView(task));
    } catch (err) {
      sendError(res, err);
    }
  });
  // Many tasks in one request, all or nothing; one durable commit for all of them.
  r.post('/tasks/batch', async (req, res) => {
    try {
      const body = parseBody(batchBody, req.body);
      const p = principalOf(res);
      const out = await tasks.submitMany(body.tasks.map((t, i) => ({ ...submitRequest(t, `tasks.${i}.`), owner: p.id, tenant: p.tenant, ...(!hasScope(p, 'operate') && { visibleOwners: ownersOf(p) }) })));
      res.status(out.some((o) => o.created) ? 202 : 200).json({ tasks: out.map((o) => taskView(o.task)), created: out.map((o) => o.created) });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/tasks', (req, res) => {
    try {
      const p = principalOf(res);
      requireOperator(p); // a listing spans every caller's tasks: of the tenant, or all for a cluster operator
      const q = parseBody(listQuery, req.query);
      res.json({ tasks: tasks.list({ status: q.status, tenant: listingTenant(p), limit: q.limit }).map(taskView) });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/tasks/:id', async (req: Request<{ id: string }>, res) => {
    try {
      await tasks.store.preload?.({ id: req.params.id }); // a finished task a PostgreSQL store no longer caches
      const task = visibleTask(tasks, principalOf(res), req.params.id);
      // A queued task also shows where it stands: tasks of its requirement before it, and the estimated ms until it starts;
      // one in no master's queue (several masters: the shared pool) where it stands in the pool.
      const standing = task.status !== 'queued' ? undefined : (tasks.standing(task.id) ?? (await poolStanding?.(task.id)));
      res.json(standing ? { ...taskView(task), queue_position: standing.position, eta_ms: standing.etaMs } : taskView(task));
    } catch (err) {
      sendError(res, err);
    }
  });
  r.post('/tasks/:id/cancel', (req: Request<{ id: string }>, res) => {
    try {
      res.status(202).json(taskView(tasks.cancel(visibleTask(tasks, principalOf(res), req.params.id).id)));
    } catch (err) {
      sendError(res, err);
    }
  });
  // A tenant's caller sees the workers serving its tenant (pinned to it or shared); a cluster operator all.
  r.get('/workers', (_req, res) => {
    const p = principalOf(res);
    res.json({ workers: registry.all().filter((w) => seesWorker(p, w)).map((w) => registry.view(w)) });
  });
  r.get('/cluster', (_req, res) => {
    res.json(cluster(clusterTenant(principalOf(res))));
  });
  return r;
}
