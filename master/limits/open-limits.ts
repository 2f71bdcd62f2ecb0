/** Builds the limits gate from the master's options and puts it in front of every submit; sets the fair-share queue order. */
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import type { TaskService } from '../core/task-service.js';
import { AdmissionLimiter } from './admission-limiter.js';
import { parseLimitsSetting } from './limit-rules.js';
import { type LimiterBackend, LimiterStore } from './limiter-store.js';
import { type LimitsKeeper, LimitsFile } from './limits-file.js';
import { FairShare, parseFairShare } from './fair-share.js';
import type { TaskRecord } from '../core/task-record.js';
import { FileTenantSettings, MemoryTenantSettings, type TenantSettings } from './tenant-settings.js';

/**
 * `shared`: the counters' backend on the task store's PostgreSQL (postgres-limiters.ts); it wins over TASKWIRE_LIMITS_STORE.
 * `tenantSettings`: where tenant admins' own rules are kept (that database); without, `<data dir>/tenant-limits.json`
 * (memory without a data dir).
 */
export function openLimits(o: { rateLimits: string; limitsStore: 'memory' | 'sqlite'; dataDir: string; fairShare: string }, tasks: TaskService, now: () => number, log: Logger, shared?: LimiterBackend, tenantSettings?: TenantSettings): { limiter: AdmissionLimiter; store: LimiterStore } {
  let kind = o.limitsStore;
  const tenants = tenantSettings ?? (o.dataDir ? new FileTenantSettings(join(o.dataDir, 'tenant-limits.json')) : new MemoryTenantSettings());
  if (shared) {
    const store = new LimiterStore(shared.kind, shared);
    return finish(o, tasks, now, log, store, tenants, shared.rules);
  }
  if (kind === 'sqlite' && !o.dataDir) {
    log.warn('TASKWIRE_LIMITS_STORE=sqlite needs TASKWIRE_DATA_DIR: limit counters are kept in memory');
    kind = 'memory';
  }
  return finish(o, tasks, now, log, new LimiterStore(kind, kind === 'sqlite' ? join(o.dataDir, 'limits.db') : undefined), tenants);
}

function finish(o: { rateLimits: string; dataDir: string; fairShare: string }, tasks: TaskService, now: () => number, log: Logger, store: LimiterStore, tenantSettings: TenantSettings, rules?: LimitsKeeper): { limiter: AdmissionLimiter; store: LimiterStore } {
  const file = rules ?? (o.dataDir ? new LimitsFile(join(o.dataDir, 'limits.json')) : undefined);
  const limiter = new AdmissionLimiter({ store, events: tasks.events, now, config: parseLimitsSetting(o.rateLimits), file, tenantSettings });
  if (limiter.source === 'admin') log.info({ file: file instanceof LimitsFile ? file.path : 'PostgreSQL' }, 'limits: the rules an admin set over REST are in force (DELETE /api/v1/admin/limits goes back to TASKWIRE_RATE_LIMITS)');
  tasks.useAdmissionGate(limiter);
  // Weighted-fair dispatch across tenants (TASKWIRE_FAIR_SHARE): the queue's order within a priority.
  const fair = parseFairShare(o.fairShare);
  if (fair) tasks.queue.useOrder(new FairShare<TaskRecord>((t) => (t as { tenant?: string }).tenant ?? 'default', fair.weights, fair.defaultWeight));
  return { limiter, store };
}
