/**
 * The SQLite store's full-text index is written by its writer thread: a
 * task's text goes in exactly once, when its row first becomes final (a
 * task finished after its queued row, a task whose first row is already
 * final, a final row written again), and an index of an older schema is
 * rebuilt from the rows on disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { transition } from '../../master/core/task-record.js';
import { SqliteTaskStore } from '../../master/store/sqlite-task-store.js';
import { finishedTask, newTask } from './store-contract.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fresh(): string {
  const d = mkdtempSync(join(tmpdir(), 'tw-fts-'));
  dirs.push(d);
  return join(d, 'taskwire.db');
}

/** Index rows matching a word, read from the file (not through the store). */
function hits(path: string, word: string): number[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ? ORDER BY rowid').all(word) as { rowid: number }[]).map((r) => r.rowid);
  } finally {
    db.close();
  }
}

describe('SQLite search index (writer thread)', () => {
  it('indexes a task once, when it first becomes final, by input and by result', async () => {
    const path = fresh();
    const store = new SqliteTaskStore({ path });
    const queued = newTask({ input: { text: 'zebra queued first' } });
    store.put(queued);
    await store.commit();
    expect(hits(path, 'zebra')).toEqual([]); // unfinished: not in the index
    queued.attempt = 1;
    queued.workerId = 'w-1';
    transition(queued, 'assigned', Date.now());
    queued.result = { answer: 'giraffe' };
    queued.finishedAtMs = Date.now();
    transition(queued, 'succeeded', Date.now());
    store.put(queued);
    await store.commit();
    expect(hits(path, 'zebra')).toHaveLength(1);
    expect(hits(path, 'giraffe')).toEqual(hits(path, 'zebra'));

    const direct = finishedTask('failed', Date.now(), { input: { text: 'okapi final at once' } });
    store.put(direct); // its first row is already final
    await store.commit();
    expect(hits(path, 'okapi')).toHaveLength(1);

    store.put(direct); // the final row again: not indexed twice
    store.put(queued);
    await store.commit();
    expect(hits(path, 'okapi')).toHaveLength(1);
    expect(hits(path, 'zebra')).toHaveLength(1);
    expect(store.search({ text: 'okapi', limit: 10 }).tasks.map((t) => t.id)).toEqual([direct.id]);
    await store.close();
  });

  it('rebuilds an index of an older search schema from the rows on disk', async () => {
    const path = fresh();
    const store = new SqliteTaskStore({ path });
    const done = finishedTask('succeeded', Date.now(), { input: { text: 'narwhal' } });
    store.put(done);
    await store.commit();
    await store.close();
    const db = new Database(path);
    db.exec("DELETE FROM tasks_fts; UPDATE meta SET value = '2' WHERE key = 'search_schema'");
    db.close();
    expect(hits(path, 'narwhal')).toEqual([]);
    const reopened = new SqliteTaskStore({ path });
    expect(hits(path, 'narwhal')).toHaveLength(1);
    await reopened.close();
  });
});
