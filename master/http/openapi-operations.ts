/**
 * What the OpenAPI document says about each described route: its summary,
 * the scope it needs, and the zod schemas it validates its query and body
 * with (the routes' own schemas, imported, never copies) and its answer.
 */
import { z } from 'zod';
import { bulkBody } from './bulk-task-routes.js';
import { query as eventsQuery } from './event-routes.js';
import { logsQuery } from './log-routes.js';
import { logPageSchema, taskPageSchema, taskViewSchema, workerViewSchema } from './openapi-schemas.js';
import { MAX_BATCH_TASKS, submitBody } from './rest-api.js';
import { taskExportQuery, taskListQuery } from './task-search-routes.js';
import type { ApiOperation } from './openapi-operation.js';
import { ADMIN_OPERATIONS } from './openapi-admin-operations.js';
import { CLUSTER_OPERATIONS } from './openapi-cluster-operations.js';

export type { ApiOperation } from './openapi-operation.js';

const workerControl = z.object({ worker: workerViewSchema, confirmed: z.boolean() }).loose();

export const OPERATIONS: readonly ApiOperation[] = [
  { method: 'post', path: '/api/v1/tasks', tag: 'tasks', scope: 'any', summary: 'submit a task (202 new, 200 an existing one by idempotency key)', body: submitBody, status: 202, response: { description: 'the task', schema: taskViewSchema } },
  {
    method: 'post', path: '/api/v1/tasks/batch', tag: 'tasks', scope: 'any', summary: `submit up to ${MAX_BATCH_TASKS} tasks, all or nothing`,
    body: z.object({ tasks: z.array(submitBody).min(1).max(MAX_BATCH_TASKS) }).strict(), status: 202,
    response: { description: 'the tasks and whether each was created', schema: z.object({ tasks: z.array(taskViewSchema), created: z.array(z.boolean()) }) },
  },
  { method: 'get', path: '/api/v1/tasks', tag: 'tasks', scope: 'operate', summary: 'search tasks: filters, full-text q, newest first, cursor pages', query: taskListQuery, response: { description: 'a page', schema: taskPageSchema } },
  { method: 'get', path: '/api/v1/tasks/export', tag: 'tasks', scope: 'operate', summary: 'export every task of a filter (streamed)', query: taskExportQuery, response: { description: 'CSV, JSON Lines or a JSON array', contentTypes: ['text/csv', 'application/x-ndjson', 'application/json'] } },
  { method: 'get', path: '/api/v1/tasks/:id', tag: 'tasks', scope: 'any', summary: 'one task (a queued one also with queue_position and eta_ms)', response: { description: 'the task', schema: taskViewSchema } },
  { method: 'post', path: '/api/v1/tasks/:id/cancel', tag: 'tasks', scope: 'any', summary: 'cancel a queued or running task', status: 202, response: { description: 'the task', schema: taskViewSchema } },
  {
    method: 'post', path: '/api/v1/tasks/:id/retry', tag: 'tasks', scope: 'operate', summary: 'run a failed, expired or cancelled task again as a new linked task', status: 202,
    response: { description: 'the new task', schema: z.object({ task: taskViewSchema, retry_of: z.string(), created: z.boolean() }) },
  },
  ...(['cancel', 'retry'] as const).map(
    (action): ApiOperation => ({
      method: 'post', path: `/api/v1/tasks/bulk/${action}`, tag: 'tasks', scope: 'operate', summary: `${action} every task of a filter (dry_run counts)`, body: bulkBody,
      response: { description: 'what matched and what was done', schema: z.object({ action: z.literal(action), dry_run: z.boolean(), matched: z.number().int(), affected: z.number().int(), task_ids: z.array(z.string()), truncated: z.boolean() }) },
    }),
  ),
  { method: 'get', path: '/api/v1/workers', tag: 'workers', scope: 'any', summary: 'every worker the master knows, with load and statistics', response: { description: 'the workers', schema: z.object({ workers: z.array(workerViewSchema) }) } },
  { method: 'get', path: '/api/v1/workers/:id', tag: 'workers', scope: 'any', summary: 'one worker', response: { description: 'the worker', schema: workerViewSchema } },
  { method: 'post', path: '/api/v1/workers/:id/drain', tag: 'workers', scope: 'operate', summary: 'drain: no new work, running tasks finish (202 until the worker confirms)', response: { description: 'the worker and whether it confirmed', schema: workerControl } },
  { method: 'post', path: '/api/v1/workers/:id/resume', tag: 'workers', scope: 'operate', summary: 'resume a drained worker', response: { description: 'the worker and whether it confirmed', schema: workerControl } },
  { method: 'get', path: '/api/v1/cluster', tag: 'cluster', scope: 'any', summary: 'workers by state, queue, running, capacity, rates', response: { description: 'the cluster view' } },
  {
    method: 'get', path: '/api/v1/events', tag: 'events', scope: 'read', summary: 'the durable event stream (Server-Sent Events; follow=false: one JSON page)', query: eventsQuery,
    headers: [{ name: 'Last-Event-ID', description: 'resume after this event id' }], response: { description: 'text/event-stream, or {events, last_id}', contentTypes: ['text/event-stream', 'application/json'] },
  },
  {
    method: 'get', path: '/api/v1/logs', tag: 'logs', scope: 'any', summary: "kept log lines of the master and the workers (read scope; a tenant's key: its tenant's lines): filters, full-text q, cursor pages; follow=true streams (SSE)", query: logsQuery,
    headers: [{ name: 'Last-Event-ID', description: 'with follow=true: resume after this line id' }], response: { description: 'a page (or text/event-stream with follow=true)', schema: logPageSchema },
  },
  {
    method: 'get', path: '/api/v1/tasks/:id/output', tag: 'tasks', scope: 'operate', summary: "a running task's streamed output (Server-Sent Events: snapshot, chunk, done)",
    description: 'The text so far comes first (`snapshot`), then each `chunk`; a chunk of a higher attempt voids the text before. `done` says the task ended (read its result) and ends the stream. A reconnect gets a fresh snapshot.',
    response: { description: 'text/event-stream', contentTypes: ['text/event-stream'] },
  },
  { method: 'get', path: '/api/v1/openapi.json', tag: 'meta', scope: 'any', summary: 'this document', response: { description: 'OpenAPI 3.1' } },
  ...ADMIN_OPERATIONS,
  ...CLUSTER_OPERATIONS,
];
