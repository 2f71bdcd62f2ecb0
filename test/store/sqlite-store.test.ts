import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteTaskStore } from '../../master/store/sqlite-task-store.js';
import { storeContract } from './store-contract.js';

storeContract({
  name: 'SQLite',
  durable: true,
  fresh: async (cleanup, options) => {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-store-contract-'));
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'taskwire.db');
    const open = (o?: { pruneChunkRows?: number }) => {
      const store = new SqliteTaskStore({ path, fileCheckIntervalMs: 50, ...o });
      cleanup(() => store.close());
      return store;
    };
    return {
      store: open(options),
      reopen: async (o) => open(o),
      schemaVersion: async () => {
        const db = new Database(path, { readonly: true });
        try {
          return db.pragma('user_version', { simple: true }) as number;
        } finally {
          db.close();
        }
      },
      bumpSchema: async () => {
        const db = new Database(path);
        db.pragma(`user_version = ${(db.pragma('user_version', { simple: true }) as number) + 1}`);
        db.close();
      },
      // A deleted database file takes writes without error and loses them: the store must notice.
      breakStorage: async () => rmSync(path),
    };
  },
});
