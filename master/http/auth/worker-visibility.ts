/**
 * Which workers a principal sees: those that serve its tenant (pinned to it
 * with the `taskwire.tenants` label, or shared: pinned to none). A cluster
 * operator (tenant `default` with the operate scope) sees every worker. A
 * worker another tenant cannot see answers like one that does not exist
 * (404), in the worker list, by id, in the cluster summary (REST and
 * Socket.IO) and in the kinds a chat is offered.
 *
 * Draining or resuming a worker changes it for every tenant it serves: a
 * tenant's operator may do it only to a worker pinned to its tenant alone.
 */
import { NotFoundError } from '../../../common/errors.js';
import { seesAll, type Principal } from './principal.js';

interface Served {
  readonly id: string;
  /** Pinned to these tenants, or null: shared. */
  readonly tenants: ReadonlySet<string> | null;
}

export function seesWorker(p: Principal, w: Served): boolean {
  return seesAll(p) || w.tenants === null || w.tenants.has(p.tenant);
}

/** The worker when `p` sees it; NotFoundError (as for no worker) otherwise. */
export function visibleWorker<W extends Served>(p: Principal, w: W | undefined, id: string): W {
  if (!w || !seesWorker(p, w)) throw new NotFoundError(`worker ${id.slice(0, 128)} not found`);
  return w;
}

/** May `p` drain or resume `w`? A cluster operator any; a tenant's operator only a worker pinned to its tenant alone. */
export function controlsWorker(p: Principal, w: Served): boolean {
  return seesAll(p) || (w.tenants !== null && w.tenants.size === 1 && w.tenants.has(p.tenant));
}

/** The tenant a cluster summary of `p` is limited to (undefined: the whole cluster). */
export function clusterTenant(p: Principal): string | undefined {
  return seesAll(p) ? undefined : p.tenant;
}
