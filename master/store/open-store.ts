/**
 * Which task store a master runs on, chosen from its resolved options:
 * PostgreSQL when `store` is a postgres:// URL (TASKWIRE_STORE, --store);
 * else SQLite in the data directory when there is one (durable, the default
 * of `taskwire master` and `npm start`); otherwise memory.
 */
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import type { ResolvedMasterOptions } from '../config.js';
import { isPostgresUrl } from './postgres-url.js';
import { PostgresTaskStore, redactPostgresUrl } from './postgres-task-store.js';
import { SqliteTaskStore } from './sqlite-task-store.js';
import { MemoryTaskStore, type TaskStore } from './task-store.js';

export async function openTaskStore(o: ResolvedMasterOptions, log: Logger): Promise<TaskStore> {
  if (isPostgresUrl(o.store)) {
    const where = redactPostgresUrl(o.store);
    const store = await PostgresTaskStore.open({
      url: o.store,
      maxCachedFinishedBytes: o.cacheMaxBytes,
      onDown: (err) => log.error({ err: err.message, store: where }, 'PostgreSQL is unreachable: submits are refused until it is back'),
      onUp: () => log.info({ store: where }, 'PostgreSQL is reachable again: submits are accepted'),
    });
    log.info({ store: where }, 'task store: PostgreSQL');
    return store;
  }
  if (!o.dataDir) return new MemoryTaskStore(o.maxFinishedTasks, o.cacheMaxBytes);
  return new SqliteTaskStore({
    path: join(o.dataDir, 'taskwire.db'),
    maxCachedFinishedBytes: o.cacheMaxBytes,
    onFatal: (err) => log.fatal({ err: err.message }, 'the durable task store failed: submits are refused from now on'),
  });
}
