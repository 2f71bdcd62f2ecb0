/**
 * Run-time placement and autoscaling (docs/PLACEMENT.md, docs/AUTOSCALING.md),
 * for cluster operators and admins (operate scope, tenant `default`): these
 * settings are the whole cluster's. Every change is audited by
 * RuntimeSettings (a `config.changed` event: who, what, before, after) and
 * kept in the data dir.
 *
 *   GET    /placement                 strategies by scope, slow start, known strategy names
 *   PUT    /placement                 {slow_start_ms}
 *   PUT    /placement/:scope          {strategy}
 *   DELETE /placement/:scope
 *   GET    /autoscaling               every pool: policy, load, current / desired workers
 *   PUT    /autoscaling/:pool         a policy (defaults filled in)
 *   DELETE /autoscaling/:pool
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { TaskwireError } from '../../common/errors.js';
import type { Autoscaler } from '../autoscaling/autoscaler.js';
import type { RuntimeSettings } from '../autoscaling/runtime-settings.js';
import { placementNames } from '../scheduling/placement/placement-registry.js';
import { principalOf, requireOperator } from './auth/http-auth.js';
import { seesAll, type Principal } from './auth/principal.js';
import { sendError } from './http-errors.js';
import { parseBody } from './rest-api.js';

export interface ScalingRoutesDeps {
  settings: RuntimeSettings;
  autoscaler: Autoscaler;
}

export const strategyBody = z.object({ strategy: z.string().min(1).max(64) }).strict();
export const placementBody = z.object({ slow_start_ms: z.number().int().min(0).max(3600_000) }).strict();

function clusterOperator(res: Response): Principal {
  const p = principalOf(res);
  requireOperator(p);
  if (!seesAll(p)) throw new TaskwireError('FORBIDDEN', 'placement and autoscaling are cluster settings: needs an operator or admin key of the default tenant');
  return p;
}

export function scalingRoutes({ settings, autoscaler }: ScalingRoutesDeps): Router {
  const r = Router();
  const handle =
    (fn: (req: Request<{ scope?: string; pool?: string }>, res: Response, p: Principal) => unknown) =>
    async (req: Request<{ scope?: string; pool?: string }>, res: Response) => {
      try {
        const p = clusterOperator(res);
        res.json(await fn(req, res, p)); // a shared setting answers once kept (503 when it cannot be)
      } catch (err) {
        sendError(res, err);
      }
    };
  r.get('/placement', handle(() => ({ ...settings.placementView(), known: placementNames() })));
  r.put('/placement', handle(async (req, _res, p) => ({ slow_start_ms: await settings.setSlowStart(p, parseBody(placementBody, req.body).slow_start_ms) })));
  r.put('/placement/:scope', handle(async (req, _res, p) => ({ scope: req.params.scope, ...(await settings.setPlacement(p, req.params.scope!, parseBody(strategyBody, req.body).strategy)) })));
  r.delete('/placement/:scope', handle(async (req, _res, p) => ({ scope: req.params.scope, ...(await settings.setPlacement(p, req.params.scope!, null)) })));
  r.get('/autoscaling', handle(() => ({ pools: autoscaler.status() })));
  r.put('/autoscaling/:pool', handle((req, _res, p) => ({ pool: req.params.pool, ...settings.setPolicy(p, req.params.pool!, parseBody(z.record(z.string(), z.unknown()), req.body)) })));
  r.delete('/autoscaling/:pool', handle((req, _res, p) => ({ pool: req.params.pool, ...settings.setPolicy(p, req.params.pool!, null) })));
  return r;
}
