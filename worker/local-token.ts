/**
 * On the master's own machine a worker may find the cluster token by itself:
 * the master keeps it in its data dir (`<dir>/taskwire.db`, meta key
 * `cluster_token`). Only tried for a broker on a loopback address and when no
 * credentials were given; the database is opened read-only and a file this
 * user cannot read (the data dir is private to the master's user) is simply
 * not used.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname;
    return LOOPBACK.has(h) || h.startsWith('127.');
  } catch {
    return false;
  }
}

/** The token and where it came from, or undefined. Never throws. */
export async function findLocalClusterToken(dataDir: string): Promise<{ token: string; path: string } | undefined> {
  const path = join(resolve(dataDir), 'taskwire.db');
  if (!existsSync(path)) return undefined;
  try {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('cluster_token') as { value?: string } | undefined;
      return row?.value ? { token: row.value, path } : undefined;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}
