/**
 * Which task store a master runs on, chosen from its resolved options: SQLite
 * in the data directory when there is one (durable, the default of
 * `taskwire master` and `npm start`), otherwise memory. Other stores plug in here.
 */
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import type { ResolvedMasterOptions } from '../config.js';
import { SqliteTaskStore } from './sqlite-task-store.js';
import { MemoryTaskStore, type TaskStore } from './task-store.js';

export function openTaskStore(o: ResolvedMasterOptions, log: Logger): TaskStore {
  if (!o.dataDir) return new MemoryTaskStore(o.maxFinishedTasks, o.cacheMaxBytes);
  return new SqliteTaskStore({
    path: join(o.dataDir, 'taskwire.db'),
    maxCachedFinishedBytes: o.cacheMaxBytes,
    onFatal: (err) => log.fatal({ err: err.message }, 'the durable task store failed: submits are refused from now on'),
  });
}
