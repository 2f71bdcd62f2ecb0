/**
 * GET /api/v1/openapi.json: an OpenAPI 3.1 document that lists every route
 * mounted under /api/v1 on a real master, with query parameters and bodies
 * generated from the routes' zod schemas; every $ref resolves; real answers
 * fit the documented answer schemas; every route is described (none
 * flagged `x-taskwire-described: false`); @readme/openapi-parser validates
 * the document against the OpenAPI 3.1 schema.
 */
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountedRoutes, openApiPath } from '../../master/http/openapi.js';
import { OPERATIONS } from '../../master/http/openapi-operations.js';
import { logPageSchema, taskPageSchema, taskViewSchema, workerViewSchema } from '../../master/http/openapi-schemas.js';
import { runTask, startCluster, type TestCluster } from '../helpers/cluster.js';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { 'x-taskwire-described': boolean; parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>>;
  components: { schemas: Record<string, unknown> };
};

let c: TestCluster;
let doc: Doc;
beforeAll(async () => {
  c = await startCluster({ workers: 1 });
  await c.waitForWorkers(1);
  const res = await fetch(`${c.httpUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
});
afterAll(async () => c?.close());

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every mounted /api/v1 route', () => {
    expect(doc.openapi).toBe('3.1.0');
    const mounted = mountedRoutes(c.master.http.app as never).filter((r) => r.path.startsWith('/api/v1/'));
    expect(mounted.length).toBeGreaterThan(15);
    const missing = mounted.filter((r) => !doc.paths[openApiPath(r.path)]?.[r.method]);
    expect(missing).toEqual([]);
    // Every described operation is a mounted route (no stale entries).
    const mountedKeys = new Set(mounted.map((r) => `${r.method} ${r.path}`));
    expect(OPERATIONS.filter((op) => !mountedKeys.has(`${op.method} ${op.path}`)).map((op) => `${op.method} ${op.path}`)).toEqual([]);
    for (const op of OPERATIONS) expect(doc.paths[openApiPath(op.path)]![op.method]!['x-taskwire-described'], op.path).toBe(true);
  });

  it('describes every mounted /api/v1 route (a new route without an entry in OPERATIONS fails here)', () => {
    const mounted = mountedRoutes(c.master.http.app as never).filter((r) => r.path.startsWith('/api/v1/'));
    const described = new Set(OPERATIONS.map((op) => `${op.method} ${op.path}`));
    expect(mounted.filter((r) => !described.has(`${r.method} ${r.path}`)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    const flagged = Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).filter(([, o]) => o['x-taskwire-described'] !== true).map(([m]) => `${m} ${p}`));
    expect(flagged).toEqual([]);
    const ops = Object.values(doc.paths).flatMap((o) => Object.values(o)) as unknown as { operationId: string; summary: string; responses: Record<string, unknown>; security: unknown[] }[];
    expect(ops.length).toBe(mounted.length);
    // Unique operation ids, a summary, an answer and the 401 of every route; auth named.
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    for (const o of ops) {
      expect(o.summary.length, o.operationId).toBeGreaterThan(5);
      expect(Object.keys(o.responses).some((k) => k.startsWith('2')), o.operationId).toBe(true);
      expect(o.responses['401'], o.operationId).toBeDefined();
      expect(o.security, o.operationId).toEqual(expect.arrayContaining([{}]));
    }
  });

  it('is a valid OpenAPI 3.1 document (@readme/openapi-parser)', async () => {
    const result = await validate(structuredClone(doc) as never);
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.specification).toBe('OpenAPI');
  });

  it('generates query parameters and bodies from the zod schemas', () => {
    const list = doc.paths['/api/v1/tasks']!.get!;
    const names = list.parameters.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['status', 'kind', 'model', 'worker', 'priority', 'since', 'until', 'q', 'cursor', 'limit']));
    expect(list.parameters.find((p) => p.name === 'limit')!.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000, default: 50 });
    expect(doc.paths['/api/v1/logs']!.get!.parameters.find((p) => p.name === 'level')!.schema).toMatchObject({ enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] });
    const body = doc.paths['/api/v1/tasks']!.post!.requestBody!.content['application/json']!.schema as { required: string[]; properties: Record<string, unknown> };
    expect(body.required).toContain('kind');
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['kind', 'input', 'priority', 'idempotency_key', 'timeout_ms']));
    expect(doc.paths['/api/v1/tasks/{id}']!.get!.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
  });

  it('resolves every $ref', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
  });

  it('answers fit the documented schemas', async () => {
    const t = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'documented' } });
    expect(taskViewSchema.safeParse(t).success).toBe(true);
    const page = await (await fetch(`${c.httpUrl}/api/v1/tasks?q=documented`)).json();
    expect(taskPageSchema.parse(page).tasks).toHaveLength(1);
    const workers = (await (await fetch(`${c.httpUrl}/api/v1/workers`)).json()) as { workers: unknown[] };
    for (const w of workers.workers) expect(workerViewSchema.safeParse(w).error).toBeUndefined();
    expect(logPageSchema.safeParse(await (await fetch(`${c.httpUrl}/api/v1/logs`)).json()).error).toBeUndefined();
  });

  it('every GET without path parameters answers what its schema says', async () => {
    const gets = OPERATIONS.filter((op) => op.method === 'get' && !op.path.includes(':') && op.response?.schema && !op.path.endsWith('/events'));
    expect(gets.length).toBeGreaterThan(10);
    for (const op of gets) {
      const res = await fetch(`${c.httpUrl}${op.path}`);
      expect(res.status, op.path).toBe(200);
      const parsed = op.response!.schema!.safeParse(await res.json());
      expect(parsed.error, op.path).toBeUndefined();
    }
  });

  it('a task page, a created key and a placement change answer what their schemas say', async () => {
    const t = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'page' } });
    const check = async (method: string, path: string, url: string, body?: unknown) => {
      const op = OPERATIONS.find((o) => o.method === method && o.path === path)!;
      const res = await fetch(`${c.httpUrl}${url}`, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      expect(res.status, url).toBe(op.status ?? 200);
      expect(op.response!.schema!.safeParse(await res.json()).error, url).toBeUndefined();
    };
    await check('get', '/api/v1/dashboard/tasks/:id', `/api/v1/dashboard/tasks/${t.id}`);
    await check('put', '/api/v1/placement/:scope', '/api/v1/placement/echo', { strategy: 'least-loaded' });
    await check('delete', '/api/v1/placement/:scope', '/api/v1/placement/echo');
    await check('put', '/api/v1/admin/limits', '/api/v1/admin/limits', { rules: [] });
    await check('put', '/api/v1/admin/tenants/:tenant/limits', '/api/v1/admin/tenants/default/limits', { rules: [{ scope: 'key', concurrent_tasks: 100 }] });
    await check('get', '/api/v1/admin/tenants/:tenant/limits', '/api/v1/admin/tenants/default/limits');
    await check('delete', '/api/v1/admin/tenants/:tenant/limits', '/api/v1/admin/tenants/default/limits');
    await check('put', '/api/v1/admin/tenants/:tenant/budgets', '/api/v1/admin/tenants/default/budgets', { budgets: [{ scope: 'key', period: 'day', soft: 100 }] });
    await check('get', '/api/v1/admin/tenants/:tenant/budgets', '/api/v1/admin/tenants/default/budgets');
  });
});
