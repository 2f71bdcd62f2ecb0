/** The log stores (memory ring, SQLite with FTS5): pages, filters, retention, the byte bound; the redaction of secrets. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewLogEntry } from '../../master/logs/log-entry.js';
import { redactSecrets } from '../../master/logs/log-redaction.js';
import { MemoryLogStore } from '../../master/logs/log-store.js';
import { SqliteLogStore } from '../../master/logs/sqlite-log-store.js';

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
