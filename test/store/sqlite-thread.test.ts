/** The SQLite writer thread helper, and the usage ledger's store that writes through it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteThread, type ThreadAck } from '../../master/store/sqlite-thread.js';
import { SqliteUsageStore } from '../../master/billing/usage-store.js';
import type { UsageRow } from '../../master/billing/usage-row.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'tw-thread-'));
  dirs.push(d);
  return d;
};

describe('SqliteThread', () => {
  it('answers every message in order with the handler\'s value or its error, drains and closes', async () => {
    const path = join(fresh(), 't.db');
    new Database(path).exec('CREATE TABLE t (n INTEGER PRIMARY KEY)').close();
    const t = new SqliteThread<number, number>(path, `const ins = db.prepare('INSERT INTO t (n) VALUES (?)'); handle = (n) => ins.run(n).changes;`);
    const acks: ThreadAck<number>[] = [];
    for (const n of [1, 2, 2, 3]) t.send(n, (a) => acks.push(a));
    expect(t.busy).toBe(true);
    await t.drain();
    expect(t.busy).toBe(false);
    expect(acks.map((a) => a.value ?? a.error)).toEqual([1, 1, expect.stringContaining('UNIQUE'), 1]);
    await t.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) AS c FROM t').get()).toEqual({ c: 3 });
    db.close();
  });

  it('answers with the failure when the thread cannot start, and keeps answering so', async () => {
    const path = join(fresh(), 'none.db');
    const fatal: Error[] = [];
    const t = new SqliteThread<number>(path, `throw new Error('boom at start');`, {}, (e) => fatal.push(e));
    const first = await new Promise<ThreadAck>((r) => t.send(1, r));
    expect(first.error).toMatch(/boom at start|exited/);
    expect(fatal).toHaveLength(1);
    const later = await new Promise<ThreadAck>((r) => t.send(2, r));
    expect(later.error).toBe(first.error);
    await t.close();
  });
});

describe('SqliteUsageStore on its writer thread', () => {
  const row = (task: string, attempt: number): UsageRow => ({
    task_id: task, attempt, tenant: 'acme', key: 'k1', kind: 'llm', model: 'm', worker_id: 'w-1', outcome: 'succeeded',
    tokens_in: 3, tokens_out: 5, processing_ms: 7, cpu_us: 11, mem_mib_ms: 13, images: 0, megapixels: 0, bytes_in: 10, bytes_out: 20, at_ms: 1000 + attempt, cost: 0.5, price_version: 1,
  });

  it('query() sees every row handed over, a repeated task + attempt is kept once and its listener runs once', async () => {
    const store = new SqliteUsageStore(join(fresh(), 'usage.db'));
    const written: string[] = [];
    const note = (r: UsageRow) => written.push(`${r.task_id}/${r.attempt}`);
    store.insert(row('a', 1), note);
    store.insert(row('a', 2), note);
    store.insert(row('a', 1), note);
    const rows = await store.query({ fromMs: 0, toMs: 10_000 });
    expect(rows.map((r) => `${r.task_id}/${r.attempt}`)).toEqual(['a/1', 'a/2']);
    expect(rows[0]).toEqual(row('a', 1));
    expect(written).toEqual(['a/1', 'a/2']);
    store.insert(row('a', 2), note);
    expect(await store.query({ fromMs: 0, toMs: 10_000, tenant: 'acme' })).toHaveLength(2);
    expect(written).toEqual(['a/1', 'a/2']);
    await store.close();
  });
});
