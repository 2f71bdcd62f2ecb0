/** Where the image batches are kept: with the task store (PostgreSQL), else `batches.db` in the data dir, else memory. */
import { join } from 'node:path';
import type { BatchStore } from './batch-store.js';
import { MemoryBatchStore } from './batch-store.js';
import { PostgresBatchStore } from './postgres-batch-store.js';
import { SqliteBatchStore } from './sqlite-batch-store.js';
import { isPostgresUrl } from '../store/postgres-url.js';

export async function openBatchStore(o: { store: string; dataDir: string }): Promise<BatchStore> {
  if (isPostgresUrl(o.store)) return PostgresBatchStore.open(o.store);
  if (o.dataDir) return new SqliteBatchStore(join(o.dataDir, 'batches.db'));
  return new MemoryBatchStore();
}
