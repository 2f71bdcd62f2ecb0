/**
 * Which tasks a principal sees: those of its tenant; a cluster operator
 * (tenant `default` with the operate scope) sees every tenant's. A task of
 * another tenant answers exactly like a task that does not exist (404), on
 * every read surface (REST by id, cancel, retry, the dashboard), so ids say
 * nothing across tenants.
 */
import { NotFoundError } from '../../../common/errors.js';
import type { TaskRecord } from '../../core/task-record.js';
import { seesAll, seesTenant, type Principal } from './principal.js';

/** The task `id` when `p` may see it; NotFoundError otherwise. */
export function visibleTask(tasks: { get(id: string): TaskRecord | undefined }, p: Principal, id: string): TaskRecord {
  const t = tasks.get(id);
  if (!t || !seesTenant(p, t.tenant)) throw new NotFoundError(`task ${id.slice(0, 128)} not found`);
  return t;
}

/** The tenant a listing of `p` is limited to (undefined: every tenant). */
export function listingTenant(p: Principal): string | undefined {
  return seesAll(p) ? undefined : p.tenant;
}
