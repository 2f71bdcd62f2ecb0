/**
 * The audit of admin changes (tenants, users, keys, limits, prices,
 * budgets): each one a log line and a `config.changed` event on the durable
 * event stream (who, their role, what, the tenant it concerns, before,
 * after), as runtime settings already are. The event belongs to the tenant
 * the change concerns: that tenant's operators see it on the event stream, a
 * cluster operator sees all. Never a secret: a key appears as its public view.
 */
import type { Logger } from '../../common/logger.js';
import type { TaskEvents } from '../core/task-events.js';
import { DEFAULT_TENANT, type Principal } from '../http/auth/principal.js';

export type AuditTarget = 'tenant' | 'user' | 'key' | 'limits' | 'prices' | 'budgets';

/** Records one admin change; `tenant`: the tenant it concerns (`default` for cluster-wide settings). */
export type AdminAudit = (actor: Principal, target: AuditTarget, tenant: string, before: unknown, after: unknown) => void;

export function adminAudit(events: TaskEvents, log: Logger): AdminAudit {
  return (actor, target, tenant, before, after) => {
    log.info({ actor: actor.id, role: actor.role, target, scope: tenant }, `admin: ${target} of tenant ${tenant} changed by ${actor.id}`);
    if (events.wants('config.changed')) events.publish('config.changed', { actor: actor.id, role: actor.role, target, scope: tenant, before, after }, { tenant: tenant || DEFAULT_TENANT });
  };
}

/** For routes built without an audit (tests, tools). */
export const NO_AUDIT: AdminAudit = () => undefined;
