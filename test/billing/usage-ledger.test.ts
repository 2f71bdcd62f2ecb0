/**
 * The usage ledger against a real master and real workers (echo, and llm on a
 * local OpenAI-compatible provider, streamed and not): one row per attempt,
 * totals equal what the workers reported, exactly; priced at the version in
 * force; reports as JSON and CSV; soft budget -> budget.warning event, hard
 * budget -> every surface refuses; with a data dir the ledger survives a
 * restart and refuses UPDATE/DELETE.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmCluster, type LlmCluster } from '../e2e-llm/llm-cluster.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import type { TaskView } from '../../common/task-view.js';

interface Report {
  totals: { attempts: number; tokens_in: number; tokens_out: number; cost: number; processing_ms: number; bytes_in: number; bytes_out: number };
  lines: { kind: string; model: string | null; attempts: number }[];
}

describe('usage ledger', () => {
  let env: LlmCluster;
  const http = (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${env.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const task = async (id: string) => (await (await http(`/api/v1/tasks/${id}`)).json()) as TaskView;

  beforeAll(async () => {
    env = await startLlmCluster({ processWorkers: 0 });
    await env.cluster.addWorker({ kinds: ['echo'] });
    await env.cluster.waitForWorkers(2);
  }, 60_000);
  afterAll(async () => env?.close());

  it('totals equal what the workers reported, priced at the version in force; JSON and CSV reports', async () => {
    const put = await http('/api/v1/admin/prices', { currency: 'EUR', prices: [{ kind: 'echo', per_request: 0.001 }, { kind: 'llm', model: 'fake-model', per_1k_tokens_in: 1, per_1k_tokens_out: 2 }] }, 'PUT');
    expect(put.status).toBe(200);
    expect(((await put.json()) as { version: number }).version).toBe(1);
    const batch = (await (await http('/api/v1/tasks/batch', { tasks: Array.from({ length: 20 }, (_, i) => ({ kind: 'echo', input: { text: `echo number ${i}` } })) })).json()) as { tasks: { id: string }[] };
    const ids = batch.tasks.map((t) => t.id);
    for (let i = 0; i < 3; i++) {
      const r = await http('/v1/chat/completions', { model: 'fake-model', messages: [{ role: 'user', content: `count the words in this sentence number ${i}` }] });
      expect(r.status).toBe(200);
      const s = await http('/v1/chat/completions', { model: 'fake-model', stream: true, messages: [{ role: 'user', content: `a streamed answer with a few more words ${i}` }] });
      expect(s.status).toBe(200);
      await s.text();
    }
    const llmIds = (env.cluster.master.tasks.list({ limit: 100 }) as { id: string; kind: string }[]).filter((t) => t.kind === 'llm').map((t) => t.id);
    expect(llmIds).toHaveLength(6);
    const views = await waitFor(async () => {
      const vs = await Promise.all([...ids, ...llmIds].map(task));
      return vs.every((v) => v.status === 'succeeded') && vs;
    }, 'all tasks done');
    const reported = { in: 0, out: 0 };
    for (const v of views) reported.in += v.usage?.prompt_tokens ?? 0;
    for (const v of views) reported.out += v.usage?.completion_tokens ?? 0;
    expect(reported.in).toBeGreaterThan(0);
    expect(reported.out).toBeGreaterThan(0);
    const report = await waitFor(async () => {
      const r = (await (await http('/api/v1/usage?period=day')).json()) as Report;
      return r.totals.attempts === 26 && r;
    }, 'ledger rows');
    expect(report.totals.tokens_in).toBe(reported.in);
    expect(report.totals.tokens_out).toBe(reported.out);
    expect(report.totals.cost).toBeCloseTo(20 * 0.001 + reported.in / 1000 + (2 * reported.out) / 1000, 9);
    expect(report.totals.bytes_in).toBeGreaterThan(0);
    expect(report.totals.bytes_out).toBeGreaterThan(0);
    expect(report.lines.map((l) => [l.kind, l.model, l.attempts])).toEqual([
      ['echo', null, 20],
      ['llm', 'fake-model', 6],
    ]);
    const csv = await http('/api/v1/usage?period=day&format=csv');
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe('period,tenant,key,kind,model,attempts,tokens_in,tokens_out,processing_ms,cpu_us,mem_mib_ms,images,megapixels,bytes_in,bytes_out,cost,currency');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2},default,local,llm,fake-model,6,${reported.in},${reported.out},`));
    // bad query: named field
    const bad = await http('/api/v1/usage?period=week');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('period');
  }, 60_000);

  it('a soft budget warns on the event stream; a hard one refuses REST, the gateway and the chat surface alike', async () => {
    const warnings: unknown[] = [];
    const off = env.cluster.master.tasks.events.on('budget.warning', (ev) => warnings.push(ev));
    try {
      const spent = ((await (await http('/api/v1/usage?period=day')).json()) as Report).totals.cost;
      expect((await http('/api/v1/admin/budgets', { budgets: [{ scope: 'tenant', period: 'day', soft: spent + 0.0005, hard: spent + 0.0015 }] }, 'PUT')).status).toBe(200);
      const one = async (text: string) => {
        const r = (await (await http('/api/v1/tasks', { kind: 'echo', input: { text } })).json()) as { id: string };
        await waitFor(async () => (await task(r.id)).status === 'succeeded', 'echo done');
      };
      await one('first'); // spent + 0.001: past soft
      await waitFor(() => warnings.length === 1, 'budget.warning');
      expect(warnings[0]).toMatchObject({ type: 'budget.warning', scope: 'tenant', id: 'default', period: 'day', soft: spent + 0.0005, currency: 'EUR' });
      await one('second'); // spent + 0.002: past hard
      await waitFor(async () => (await http('/api/v1/tasks', { kind: 'echo', input: { text: 'probe' } })).status === 429, 'hard budget');
      const refused = await http('/api/v1/tasks', { kind: 'echo', input: { text: 'third' } });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/budget exhausted: tenant default spent/);
      const gw = await http('/v1/chat/completions', { model: 'fake-model', messages: [{ role: 'user', content: 'hi' }] });
      expect(gw.status).toBe(429);
      expect(((await gw.json()) as { error: { message: string; code: string } }).error).toMatchObject({ code: 'insufficient_quota', message: expect.stringMatching(/budget exhausted/) });
      expect(warnings).toHaveLength(1); // once per crossing
    } finally {
      off();
      await http('/api/v1/admin/budgets', { budgets: [] }, 'PUT');
    }
  }, 60_000);
});

describe('usage ledger on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-usage-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps rows and prices across a restart, once per task + attempt, and refuses UPDATE and DELETE', async () => {
    let c = await startCluster({ workers: 1, master: { dataDir: dir } });
    const post = (path: string, body: unknown, method = 'POST') => fetch(`${c.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await post('/api/v1/admin/prices', { prices: [{ kind: '*', per_second: 1, per_request: 0.5 }] }, 'PUT');
    const { id } = (await (await post('/api/v1/tasks', { kind: 'echo', input: { text: 'kept' } })).json()) as { id: string };
    await waitFor(async () => ((await (await fetch(`${c.httpUrl}/api/v1/tasks/${id}`)).json()) as TaskView).status === 'succeeded', 'done');
    await waitFor(() => c.master.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }).length === 1, 'row');
    const row = c.master.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })[0]!;
    expect(row).toMatchObject({ task_id: id, attempt: 1, kind: 'echo', outcome: 'succeeded', price_version: 1 });
    expect(row.cost).toBeCloseTo(0.5 + row.processing_ms / 1000, 9);
    expect(row.bytes_in).toBe(Buffer.byteLength(JSON.stringify({ text: 'kept' })));
    let rewritten = false;
    c.master.billing.store.insert({ ...row, cost: 99 }, () => (rewritten = true)); // idempotent on task + attempt
    // query() waits for the writer thread: the repeated row was handed over and refused.
    expect(await c.master.billing.store.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).toEqual([row]);
    expect(rewritten).toBe(false);
    await c.close();
    c = await startCluster({ workers: 0, master: { dataDir: dir } });
    try {
      const rows = c.master.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
      expect(rows).toEqual([row]);
      expect(c.master.billing.prices.latest?.version).toBe(1);
    } finally {
      await c.close();
    }
    const db = new Database(join(dir, 'usage.db'));
    try {
      expect(() => db.prepare('UPDATE usage SET cost = 0').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM usage').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  }, 60_000);
});

describe('usage ledger: images', () => {
  it('an image task counts one image and its output megapixels, and the output bytes', async () => {
    const { ImageHandler } = await import('../../worker/handlers/image/image-handler.js');
    const sharp = (await import('sharp')).default;
    const c = await startCluster({ workers: 0 });
    try {
      await c.addWorker({ kinds: ['image'] }, { handlers: [new ImageHandler()] });
      await c.waitForWorkers(1);
      const data = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#336699' } }).png().toBuffer();
      const up = await fetch(`${c.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(data) });
      const { id: blob } = (await up.json()) as { id: string };
      const r = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'image', input: { blob, ops: [{ op: 'resize', width: 200, height: 100, fit: 'fill' }, { op: 'format', format: 'png' }] } }) });
      expect(r.status).toBe(202);
      const { id } = (await r.json()) as { id: string };
      const view = await waitFor(async () => {
        const v = (await (await fetch(`${c.httpUrl}/api/v1/tasks/${id}`)).json()) as TaskView;
        return v.status !== 'queued' && v.status !== 'assigned' && v.status !== 'running' && v;
      }, 'image done', 30_000);
      expect(view.status).toBe('succeeded');
      const out = view.result as { width: number; height: number; bytes: number };
      const row = await waitFor(() => c.master.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }).find((x) => x.task_id === id), 'row');
      expect(row).toMatchObject({ kind: 'image', images: 1, megapixels: (out.width * out.height) / 1e6 });
      expect(row.megapixels).toBe(0.02);
      expect(row.bytes_out).toBeGreaterThan(out.bytes);
    } finally {
      await c.close();
    }
  }, 60_000);
});

describe('usage reports and who may read them', () => {
  it("a user key reads its own tenant's usage only; admin routes need the admin role", async () => {
    const c = await startCluster({ workers: 0, master: { apiKeys: ['admin:usage-admin-key-0123456789', 'user:usage-user-key-0123456789'] } });
    const get = (key: string, path: string) => fetch(`${c.httpUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
    try {
      const own = await get('usage-user-key-0123456789', '/api/v1/usage');
      expect(own.status).toBe(200);
      expect(((await own.json()) as { tenant: string }).tenant).toBe('default');
      const other = await get('usage-user-key-0123456789', '/api/v1/usage?tenant=someone-else');
      expect(other.status).toBe(403);
      expect((await get('usage-admin-key-0123456789', '/api/v1/usage?tenant=someone-else')).status).toBe(200);
      expect((await get('usage-user-key-0123456789', '/api/v1/admin/prices')).status).toBe(403);
      expect((await get('usage-user-key-0123456789', '/api/v1/admin/budgets')).status).toBe(403);
      expect((await fetch(`${c.httpUrl}/api/v1/usage`)).status).toBe(401);
      const bad = await fetch(`${c.httpUrl}/api/v1/admin/prices`, { method: 'PUT', headers: { authorization: 'Bearer usage-admin-key-0123456789', 'content-type': 'application/json' }, body: JSON.stringify({ prices: [{ kind: 'llm', per_1k_tokens_in: -1 }] }) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('prices.0.per_1k_tokens_in');
    } finally {
      await c.close();
    }
  });
});
