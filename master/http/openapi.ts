/**
 * GET /api/v1/openapi.json: an OpenAPI 3.1 document of the REST API. Query
 * parameters and bodies are generated from the zod schemas the routes
 * validate with (zod v4's toJSONSchema, io: input), answers from
 * openapi-schemas.ts. The list of paths is read from the running app's
 * router, so every mounted /api/v1 route is in the document; one without an
 * entry in openapi-operations.ts is listed with `x-taskwire-described: false`.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { OPERATIONS, type ApiOperation } from './openapi-operations.js';
import { errorSchema } from './openapi-schemas.js';

type Json = Record<string, unknown>;
export interface MountedRoute {
  method: string;
  /** Express path, e.g. `/api/v1/tasks/:id`. */
  path: string;
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string;
}

/** Every route of an Express 5 app, with the paths of the routers it is mounted in. */
export function mountedRoutes(app: { router?: { stack: Layer[] } }): MountedRoute[] {
  const out: MountedRoute[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const l of stack) {
      if (l.route) {
        for (const p of Array.isArray(l.route.path) ? l.route.path : [l.route.path]) {
          for (const m of Object.keys(l.route.methods)) if (m !== '_all') out.push({ method: m, path: `${prefix}${p}` });
        }
      } else if (l.handle?.stack) {
        const at = typeof l.rawPath === 'string' && l.rawPath !== '/' ? l.rawPath : '';
        walk(l.handle.stack, `${prefix}${at}`);
      }
    }
  };
  walk(app.router?.stack ?? [], '');
  const seen = new Set<string>();
  return out.filter((r) => !seen.has(`${r.method} ${r.path}`) && (seen.add(`${r.method} ${r.path}`), true));
}

/** `/tasks/:id` → `/tasks/{id}`. */
export const openApiPath = (p: string): string => p.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

/** A zod schema as JSON Schema, its `$defs` moved into `components` (refs rewritten). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  const defs = (s.$defs ?? {}) as Json;
  delete s.$defs;
  delete s.$schema;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') {
      const o: Json = {};
      for (const [k, x] of Object.entries(v)) o[k] = k === '$ref' && typeof x === 'string' ? x.replace('#/$defs/', '#/components/schemas/') : k === 'id' && typeof x === 'string' && 'type' in v ? undefined : rewrite(x);
      // Answers may grow fields (clients ignore unknown ones): no additionalProperties: false on output.
      if (io === 'output' && o.additionalProperties === false) delete o.additionalProperties;
      for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
      return o;
    }
    return v;
  };
  for (const [name, d] of Object.entries(defs)) components[name] = rewrite(d);
  return rewrite(s) as Json;
}

function parameters(op: ApiOperation, path: string, components: Json): Json[] {
  const out: Json[] = [];
  for (const m of path.matchAll(/\{([^}]+)\}/g)) out.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
  const shape = op.query ? (op.query as unknown as { shape?: Record<string, z.ZodType> }).shape : undefined;
  for (const [name, field] of Object.entries(shape ?? {})) {
    const schema = jsonSchema(field, 'input', components);
    const description = typeof schema.description === 'string' ? schema.description : undefined;
    out.push({ name, in: 'query', required: !field.safeParse(undefined).success, schema, ...(description && { description }) });
  }
  for (const h of op.headers ?? []) out.push({ name: h.name, in: 'header', required: false, schema: { type: 'string' }, description: h.description });
  return out;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'bad input: `error.field` names the field',
  401: 'no key or an unknown key (with API keys configured)',
  403: 'the key lacks the scope this route needs',
  404: 'not found (or another tenant\'s)',
  413: 'body too large',
  429: 'over a rate or concurrency limit (Retry-After says when to try again)',
};

function operationObject(op: ApiOperation, path: string, components: Json): Json {
  const ok: Json = { description: op.response?.description ?? 'ok' };
  if (op.response?.schema) ok.content = { [op.response.contentType ?? 'application/json']: { schema: jsonSchema(op.response.schema, 'output', components) } };
  else if (op.response?.contentTypes) ok.content = Object.fromEntries(op.response.contentTypes.map((t) => [t, {}]));
  if (op.response?.headers) ok.headers = Object.fromEntries(Object.entries(op.response.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
  const statuses: Record<number, string> = { 401: ERROR_TEXT[401]! };
  if (op.query || op.body || op.bodies) statuses[400] = ERROR_TEXT[400]!;
  if (op.scope !== 'any') statuses[403] = `needs the ${op.scope} scope`;
  if (path.includes('{')) statuses[404] = ERROR_TEXT[404]!;
  Object.assign(statuses, op.errors);
  const responses: Json = { [String(op.status ?? 200)]: ok };
  for (const [status, description] of Object.entries(statuses)) responses[status] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const o: Json = {
    summary: op.summary,
    ...(op.description && { description: op.description }),
    operationId: `${op.method}${path.replace(/^\/api\/v1/, '').replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    tags: [op.tag],
    'x-taskwire-scope': op.scope,
    'x-taskwire-described': true,
    // Open without API keys configured; with keys, a bearer key with the scope.
    security: [{}, { bearer: op.scope === 'any' ? [] : [op.scope] }],
    parameters: parameters(op, path, components),
    responses,
  };
  const content: Json = {};
  if (op.body) content['application/json'] = { schema: jsonSchema(op.body, 'input', components) };
  for (const b of op.bodies ?? []) content[b.contentType] = { schema: { ...(b.schema ? jsonSchema(b.schema, 'input', components) : { type: 'string', contentMediaType: b.contentType }), ...(b.description && { description: b.description }) } };
  if (Object.keys(content).length > 0) o.requestBody = { required: true, content };
  return o;
}

export function buildOpenApi(mounted: readonly MountedRoute[], version: string): Json {
  const components: Json = {};
  jsonSchema(errorSchema, 'output', components);
  const paths: Record<string, Json> = {};
  const described = new Map(OPERATIONS.map((op) => [`${op.method} ${op.path}`, op]));
  for (const r of mounted) {
    if (!r.path.startsWith('/api/v1/')) continue;
    const path = openApiPath(r.path);
    const op = described.get(`${r.method} ${r.path}`);
    paths[path] ??= {};
    paths[path][r.method] = op
      ? operationObject(op, path, components)
      : {
          summary: `${r.method.toUpperCase()} ${r.path}`,
          'x-taskwire-described': false,
          parameters: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
          responses: { default: { description: 'see the docs of this route' } },
        };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'taskwire REST API', version, description: 'The master\'s REST API (/api/v1). With API keys configured, send `Authorization: Bearer <key>`; `x-taskwire-scope` names the scope a route needs.' },
    servers: [{ url: '/' }],
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{}, { bearer: [] }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** The document, built once per app from its router (routes do not change after start). */
export function openApiRoutes(version: string): Router {
  const r = Router();
  let cached: string | undefined;
  r.get('/openapi.json', (req: Request, res) => {
    cached ??= JSON.stringify(buildOpenApi(mountedRoutes(req.app as unknown as { router?: { stack: Layer[] } }), version));
    res.type('application/json').send(cached);
  });
  return r;
}
