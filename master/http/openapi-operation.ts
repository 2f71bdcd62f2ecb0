/**
 * What the OpenAPI document says about one route (openapi.ts turns it into
 * an operation object): summary, the scope it needs, the zod schemas it
 * validates its query and body with (the routes' own, imported), its answer
 * and the errors it answers with besides the ones every route has.
 */
import type { z } from 'zod';

export interface ApiOperation {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express path under the app, e.g. `/api/v1/tasks/:id`. */
  path: string;
  summary: string;
  /** Longer text (markdown). */
  description?: string;
  tag: string;
  /** `any` (any caller; a key when keys are configured), `read` (a key with the read scope: a user key sees its own), `operate`, `admin`. */
  scope: 'any' | 'read' | 'operate' | 'admin';
  query?: z.ZodType;
  /** A JSON body validated with this schema. */
  body?: z.ZodType;
  /** Other request bodies (multipart, raw bytes): content type → schema (or none: any bytes). */
  bodies?: { contentType: string; schema?: z.ZodType; description?: string }[];
  headers?: { name: string; description: string }[];
  status?: number;
  response?: { description: string; schema?: z.ZodType; contentType?: string; contentTypes?: string[]; headers?: Record<string, string> };
  /** Errors besides 400 (with a query or body), 401, 403 (scope above any) and 404 (a path parameter). */
  errors?: Record<number, string>;
}
