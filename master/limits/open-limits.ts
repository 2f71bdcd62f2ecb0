/** Builds the limits gate from the master's options and puts it in front of every submit. */
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import type { TaskService } from '../core/task-service.js';
import { AdmissionLimiter } from './admission-limiter.js';
import { parseLimitsSetting } from './limit-rules.js';
import { LimiterStore } from './limiter-store.js';

export function openLimits(o: { rateLimits: string; limitsStore: 'memory' | 'sqlite'; dataDir: string }, tasks: TaskService, now: () => number, log: Logger): { limiter: AdmissionLimiter; store: LimiterStore } {
  let kind = o.limitsStore;
  if (kind === 'sqlite' && !o.dataDir) {
    log.warn('TASKWIRE_LIMITS_STORE=sqlite needs TASKWIRE_DATA_DIR: limit counters are kept in memory');
    kind = 'memory';
  }
  const store = new LimiterStore(kind, kind === 'sqlite' ? join(o.dataDir, 'limits.db') : undefined);
  const limiter = new AdmissionLimiter({ store, events: tasks.events, now, config: parseLimitsSetting(o.rateLimits) });
  tasks.useAdmissionGate(limiter);
  return { limiter, store };
}
