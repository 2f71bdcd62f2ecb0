/**
 * Which tasks a principal sees:
 * - a cluster operator (tenant `default` with the operate scope): every task;
 * - a tenant's operator or admin (the operate scope): every task of its tenant;
 * - a `user` key (submit and read, no operate): only the tasks submitted with
 *   that key or another key of its user (the task's `owner` is the key id;
 *   `Principal.owners`), in its tenant.
 * A task it may not see answers exactly like a task that does not exist
 * (404), on every read surface (REST by id, cancel, retry, the dashboard),
 * so ids say nothing across tenants or keys. The task listing, search and
 * export (`GET /api/v1/tasks`, `/tasks/export`) and the event stream give a
 * user key its own tasks (`listingScope`); the dashboard and bulk actions need
 * the operate scope (403 for a user key); a chat session is bound to the key it
 * was issued to (session-ids.ts), so its replay holds that key's tasks only.
 */
import { NotFoundError } from '../../../common/errors.js';
import type { TaskRecord } from '../../core/task-record.js';
import { hasScope, ownersOf, seesAll, seesTenant, type Principal } from './principal.js';

/** May `p` see (read, cancel, retry) task `t`? */
export function seesTask(p: Principal, t: Pick<TaskRecord, 'tenant' | 'owner'>): boolean {
  return seesTenant(p, t.tenant) && (hasScope(p, 'operate') || (t.owner !== null && ownersOf(p).includes(t.owner)));
}

/** The task `id` when `p` may see it; NotFoundError otherwise. */
export function visibleTask(tasks: { get(id: string): TaskRecord | undefined }, p: Principal, id: string): TaskRecord {
  const t = tasks.get(id);
  if (!t || !seesTask(p, t)) throw new NotFoundError(`task ${id.slice(0, 128)} not found`);
  return t;
}

/** The tenant a listing of `p` is limited to (undefined: every tenant). */
export function listingTenant(p: Principal): string | undefined {
  return seesAll(p) ? undefined : p.tenant;
}

/** What a task listing or search of `p` is limited to: its tenant (not a cluster operator), and its own tasks (a user key). */
export function listingScope(p: Principal): { tenant?: string; owners?: readonly string[] } {
  const tenant = listingTenant(p);
  return { ...(tenant !== undefined && { tenant }), ...(!hasScope(p, 'operate') && { owners: ownersOf(p) }) };
}
