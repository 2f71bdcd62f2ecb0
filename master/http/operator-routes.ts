/**
 * Operator REST (issue 14): workers with their load and task statistics,
 * drain / resume, and the retry of a finished task. Mounted under /api/v1
 * before the plain REST router, so `GET /workers` answers the richer view
 * (a superset of the old one). Acting routes need the operator role when API
 * keys are configured; reads of workers stay open like before.
 */
import { Router, type Request } from 'express';
import { NotFoundError, TaskwireError } from '../../common/errors.js';
import type { WorkerView } from '../../common/task-view.js';
import { taskView } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import type { WorkerStats, WorkerTaskStats } from '../observability/worker-stats.js';
import type { WorkerRecord, WorkerRegistry } from '../scheduling/worker-registry.js';
import { principalOf, requireOperator } from './auth/http-auth.js';
import { visibleTask } from './auth/task-visibility.js';
import { controlsWorker, seesWorker, visibleWorker } from './auth/worker-visibility.js';
import type { Principal } from './auth/principal.js';
import { sendError } from './http-errors.js';
import { bulkTaskRoutes } from './bulk-task-routes.js';

export type WorkerControlAction = 'CONTROL_ACTION_DRAIN' | 'CONTROL_ACTION_RESUME';

export interface OperatorRoutesDeps {
  tasks: TaskService;
  registry: WorkerRegistry;
  stats: WorkerStats;
  /** Sends a control command to one worker (MasterLink.publishControl). */
  control: (workerId: string, action: WorkerControlAction) => void;
  now: () => number;
  /** How long drain/resume waits for the worker to announce its new state (default 3 s). */
  controlWaitMs?: number;
}

export type OperatorWorkerView = WorkerView &
  WorkerTaskStats & {
    /** running / capacity (0..1). */
    load: number;
    /** Milliseconds since the master last heard from the worker. */
    heartbeat_age_ms: number;
    suspect: boolean;
  };

export function operatorWorkerView(registry: WorkerRegistry, stats: WorkerStats, w: WorkerRecord, now: number): OperatorWorkerView {
  const v = registry.view(w);
  return {
    ...v,
    load: w.capacity > 0 ? Math.round((v.running / w.capacity) * 1000) / 1000 : 0,
    heartbeat_age_ms: Math.max(0, now - w.lastSeenMs),
    suspect: w.suspect,
    ...stats.of(w.id),
  };
}

/** Resolves once the worker's state is `want` (or false after `ms`). */
function waitForState(registry: WorkerRegistry, id: string, want: WorkerRecord['state'], ms: number): Promise<boolean> {
  if (registry.get(id)?.state === want) return Promise.resolve(true);
  return new Promise((resolve) => {
    const check = (w: WorkerRecord) => {
      if (w.id === id && w.state === want) done(true);
    };
    const done = (ok: boolean) => {
      clearTimeout(timer);
      registry.off('changed', check);
      registry.off('draining', check);
      registry.off('online', check);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    registry.on('changed', check);
    registry.on('draining', check);
    registry.on('online', check);
  });
}

export function operatorRoutes(deps: OperatorRoutesDeps): Router {
  const { tasks, registry, stats, now } = deps;
  const waitMs = deps.controlWaitMs ?? 3000;
  const r = Router();
  // First: `/tasks/bulk/retry` must not be taken for the retry of a task named `bulk`.
  r.use(bulkTaskRoutes(tasks));
  // A worker that does not serve the caller's tenant answers like one that does not exist (auth/worker-visibility.ts).
  const worker = (id: string, p: Principal): WorkerRecord => visibleWorker(p, registry.get(id), id);
  r.get('/workers', (_req, res) => {
    const t = now();
    const p = principalOf(res);
    res.json({ workers: registry.all().filter((w) => seesWorker(p, w)).map((w) => operatorWorkerView(registry, stats, w, t)) });
  });
  r.get('/workers/:id', (req: Request<{ id: string }>, res) => {
    try {
      res.json(operatorWorkerView(registry, stats, worker(req.params.id, principalOf(res)), now()));
    } catch (err) {
      sendError(res, err);
    }
  });
  const control = (action: WorkerControlAction, want: WorkerRecord['state']) => async (req: Request<{ id: string }>, res: import('express').Response) => {
    try {
      const p = principalOf(res);
      requireOperator(p);
      const w = worker(req.params.id, p);
      if (!controlsWorker(p, w)) throw new TaskwireError('FORBIDDEN', `worker ${w.id} serves other tenants too: only a cluster operator drains or resumes it`);
      if (w.state === 'offline') throw new NotFoundError(`worker ${w.id} is offline`);
      deps.control(w.id, action);
      const confirmed = await waitForState(registry, w.id, want, waitMs);
      // 200: the worker announced its new state; 202: sent, not confirmed yet.
      res.status(confirmed ? 200 : 202).json({ ...operatorWorkerView(registry, stats, w, now()), confirmed });
    } catch (err) {
      sendError(res, err);
    }
  };
  r.post('/workers/:id/drain', control('CONTROL_ACTION_DRAIN', 'draining'));
  r.post('/workers/:id/resume', control('CONTROL_ACTION_RESUME', 'online'));
  r.post('/tasks/:id/retry', async (req: Request<{ id: string }>, res) => {
    try {
      const p = principalOf(res);
      requireOperator(p);
      const out = await tasks.retry(visibleTask(tasks, p, req.params.id).id, p.id);
      res
        .status(out.created ? 202 : 200)
        .location(`/api/v1/tasks/${out.task.id}`)
        .json({ task: taskView(out.task), retry_of: out.retryOf, created: out.created });
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}
