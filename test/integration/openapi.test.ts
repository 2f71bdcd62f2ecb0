/**
 * GET /api/v1/openapi.json: an OpenAPI 3.1 document that lists every route
 * mounted under /api/v1 on a real master, with query parameters and bodies
 * generated from the routes' zod schemas; every $ref resolves; real answers
 * fit the documented answer schemas.
 */
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
});
