/** The log stores (memory ring, SQLite with FTS5): pages, filters, retention, the byte bound; the redaction of secrets. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewLogEntry } from '../../master/logs/log-entry.js';
import { redactSecrets } from '../../master/logs/log-redaction.js';
import { MemoryLogStore } from '../../master/logs/log-store.js';
import { LOG_SCHEMA_VERSION, SqliteLogStore } from '../../master/logs/sqlite-log-store.js';
import Database from 'better-sqlite3';

const line = (i: number, over: Partial<NewLogEntry> = {}): NewLogEntry => ({
  ts: 1_000_000 + i,
  level: i % 10 === 0 ? 'error' : 'info',
  source: `w${i % 3}`,
  worker_id: `w${i % 3}`,
  task_id: `t${i % 7}`,
  msg: `line ${i} ${i % 2 ? 'odd' : 'even'} message`,
  ...over,
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stores(maxBytes = 1 << 30): [string, () => MemoryLogStore | SqliteLogStore][] {
  return [
    ['memory', () => new MemoryLogStore({ maxBytes })],
    [
      'sqlite',
      () => {
        const d = mkdtempSync(join(tmpdir(), 'tw-logstore-'));
        dirs.push(d);
        return new SqliteLogStore(join(d, 'logs.db'), { maxBytes });
      },
    ],
  ];
}

describe.each(stores())('%s log store', (_name, make) => {
  it('pages newest first with a cursor, oldest first after an id, and filters', async () => {
    const s = make();
    s.append(Array.from({ length: 100 }, (_, i) => line(i + 1)));
    expect(s.lastId).toBe(100);
    const first = s.page({ filter: {}, limit: 10 });
    expect(first.map((e) => e.id)).toEqual([100, 99, 98, 97, 96, 95, 94, 93, 92, 91]);
    expect(s.page({ filter: {}, limit: 3, beforeId: 91 }).map((e) => e.id)).toEqual([90, 89, 88]);
    expect(s.page({ filter: {}, limit: 3, afterId: 97 }).map((e) => e.id)).toEqual([98, 99, 100]);
    expect(s.page({ filter: { minLevel: 'warn' }, limit: 100 }).map((e) => e.id)).toEqual([100, 90, 80, 70, 60, 50, 40, 30, 20, 10]);
    expect(s.page({ filter: { taskId: 't3', workerId: 'w1' }, limit: 100 }).every((e) => e.task_id === 't3' && e.worker_id === 'w1')).toBe(true);
    expect(s.page({ filter: { text: 'line 42' }, limit: 100 }).map((e) => e.id)).toEqual([42]);
    expect(s.page({ filter: { text: 'ODD', sinceTs: 1_000_090, untilTs: 1_000_095 }, limit: 100 }).map((e) => e.id)).toEqual([93, 91]);
    expect(s.page({ filter: { text: '!!!' }, limit: 100 })).toEqual([]);
    await s.close();
  });

  it('keeps each line\'s tenant and owner and filters by them (cluster lines match no tenant)', async () => {
    const s = make();
    s.append([line(1, { tenant: 'acme', owner: 'key-a' }), line(2, { tenant: 'globex', owner: 'key-g' }), line(3), line(4, { tenant: 'acme', owner: null })]);
    const ids = async (f: Parameters<typeof s.page>[0]['filter']) => (await s.page({ filter: f, limit: 100 })).map((e) => e.id);
    expect(await ids({ tenant: 'acme' })).toEqual([4, 1]);
    expect(await ids({ tenant: 'globex' })).toEqual([2]);
    expect(await ids({ tenant: 'acme', owners: ['key-a', 'key-x'] })).toEqual([1]);
    expect(await ids({ tenant: 'acme', owners: [] })).toEqual([]);
    expect(await ids({ tenant: 'acme', text: 'even' })).toEqual([4]);
    expect((await s.page({ filter: {}, limit: 100 })).map((e) => [e.id, e.tenant, e.owner])).toEqual([[4, 'acme', null], [3, null, null], [2, 'globex', 'key-g'], [1, 'acme', 'key-a']]);
    await s.close();
  });

  it('prunes by age', async () => {
    const s = make();
    s.append(Array.from({ length: 50 }, (_, i) => line(i + 1)));
    expect(await s.prune(1_000_026)).toBe(25);
    expect(s.page({ filter: {}, limit: 100 }).map((e) => e.id).at(-1)).toBe(26);
    await s.close();
  });
});

describe.each(stores(64 * 1024))('%s log store with a byte bound', (_name, make) => {
  it('keeps the newest lines within the bound', async () => {
    const s = make();
    for (let b = 0; b < 20; b++) s.append(Array.from({ length: 100 }, (_, i) => line(b * 100 + i + 1, { msg: 'x'.repeat(200) })));
    await s.prune(0);
    const kept = s.page({ filter: {}, limit: 1000 });
    expect(kept[0]!.id).toBe(2000);
    expect(kept.length).toBeGreaterThan(100);
    expect(kept.length * 300).toBeLessThanOrEqual(64 * 1024 + 300 * 200);
    await s.close();
  });
});

describe('SqliteLogStore', () => {
  it('keeps lines and ids across a reopen', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tw-logstore-'));
    dirs.push(d);
    const a = new SqliteLogStore(join(d, 'logs.db'), { maxBytes: 1 << 30 });
    a.append([line(1), line(2)]);
    await a.close();
    const b = new SqliteLogStore(join(d, 'logs.db'), { maxBytes: 1 << 30 });
    expect(b.append([line(3)])[0]!.id).toBe(3);
    expect(b.page({ filter: { text: 'even' }, limit: 10 }).map((e) => e.id)).toEqual([2]);
    await b.close();
  });
});

describe('SqliteLogStore schema', () => {
  it('adds the tenant and owner columns to a logs.db of version 0 in place (old lines: cluster lines); a newer file is refused', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tw-logstore-'));
    dirs.push(d);
    const path = join(d, 'logs.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE logs (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, level INTEGER NOT NULL, source TEXT NOT NULL, worker_id TEXT, task_id TEXT, msg TEXT NOT NULL);
      INSERT INTO logs VALUES (7, 1000, 30, 'w1', 'w1', 't1', 'an old line');`);
    old.close();
    const s = new SqliteLogStore(path, { maxBytes: 1 << 30 });
    expect(s.append([line(8, { tenant: 'acme', owner: 'key-a' })])[0]!.id).toBe(8);
    expect(s.page({ filter: {}, limit: 10 }).map((e) => [e.id, e.tenant])).toEqual([[8, 'acme'], [7, null]]);
    expect(s.page({ filter: { tenant: 'acme' }, limit: 10 }).map((e) => e.id)).toEqual([8]);
    await s.close();
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(LOG_SCHEMA_VERSION);
    check.pragma(`user_version = ${LOG_SCHEMA_VERSION + 1}`);
    check.close();
    expect(() => new SqliteLogStore(path, { maxBytes: 1 << 30 })).toThrow(/newer taskwire/);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['Authorization: Bearer abcdefghijklmnop123', 'abcdefghijklmnop123'],
    ['calling with api_key=AKIA1234567890 now', 'AKIA1234567890'],
    ['password: "hunter2hunter2"', 'hunter2hunter2'],
    ['connect mqtt://user:s3cr3tpass@broker:1883', 's3cr3tpass'],
    ['key sk-proj-abcdefghijklmnopqrstuvwxyz', 'abcdefghijklmnopqrstuvwxyz'],
    ['gemini AIzaSyA1234567890abcdefghijklmnopqrstuv', 'SyA1234567890abcdefghijklmnopqrstuv'],
  ])('%s', (text, secret) => {
    const out = redactSecrets(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });
  it('leaves ordinary lines alone', () => {
    expect(redactSecrets('worker w-1 online: 4 slots, token bucket refilled')).toBe('worker w-1 online: 4 slots, token bucket refilled');
  });
});
