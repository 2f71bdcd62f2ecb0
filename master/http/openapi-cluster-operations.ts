/**
 * The OpenAPI entries of the cluster settings (placement, autoscaling:
 * scaling-routes.ts), the dashboard's listings (dashboard-routes.ts) and
 * blobs and image batches (blob-routes.ts). Request schemas are the routes'
 * own; answers are described here.
 */
import { z } from 'zod';
import { scalingPolicySchema } from '../autoscaling/scaling-policy.js';
import { batchListQuery, jsonBatch } from './blob-routes.js';
import { listQuery, queueQuery } from './dashboard-routes.js';
import { taskViewSchema } from './openapi-schemas.js';
import type { ApiOperation } from './openapi-operation.js';
import { placementBody, strategyBody } from './scaling-routes.js';

const iso = z.string().meta({ description: 'ISO 8601 time' });
const change = <T extends z.ZodType>(t: T) => z.object({ before: t.nullable(), after: t.nullable() });
const policy = z.object(scalingPolicySchema.def.shape).meta({ id: 'ScalingPolicy' });
const poolStatus = z
  .object({
    pool: z.string(),
    policy,
    actuator: z.string(),
    current: z.number().int().nullable(),
    desired: z.number().int().nullable(),
    queued: z.number().int(),
    in_flight: z.number().int(),
    oldest_ms: z.number(),
    workers_online: z.number().int(),
    reason: z.string(),
    changing: z.boolean(),
    last_change_at: iso.nullable(),
    last_error: z.string().nullable(),
    changes: z.number().int(),
  })
  .meta({ id: 'PoolStatus' });
const itemStatus = z.enum(['queued', 'running', 'succeeded', 'failed']);
const batchView = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'succeeded', 'failed']),
    created_at_ms: z.number().int(),
    finished_at_ms: z.number().int().nullable(),
    counts: z.object({ queued: z.number().int(), running: z.number().int(), succeeded: z.number().int(), failed: z.number().int(), total: z.number().int() }),
    ops: z.array(z.record(z.string(), z.unknown())).meta({ description: 'the chain of image operations' }),
    images: z.array(
      z.object({
        name: z.string(),
        input_blob: z.string(),
        status: itemStatus,
        task_id: z.string().nullable(),
        attempts: z.number().int(),
        cached: z.boolean(),
        output_blob: z.string().nullable(),
        bytes: z.number().int().nullable(),
        width: z.number().int().nullable(),
        height: z.number().int().nullable(),
        content_type: z.string().nullable(),
        ms: z.number().nullable(),
        worker_id: z.string().nullable(),
        error: z.object({ code: z.string(), message: z.string() }).nullable(),
      }),
    ),
  })
  .meta({ id: 'ImageBatch' });
const inputFields = {
  input: z.unknown().nullable().meta({ description: 'the input (null when larger than the preview)' }),
  input_preview: z.string().nullable(),
  input_truncated: z.boolean(),
};
const standing = { queue_position: z.number().int().nullable(), eta_ms: z.number().nullable() };

const CLUSTER_WIDE = { 403: 'needs an operator or admin key of the default tenant' };
const OPERATOR = { 403: 'needs the operate scope' };

export const CLUSTER_OPERATIONS: readonly ApiOperation[] = [
  {
    method: 'get', path: '/api/v1/placement', tag: 'settings', scope: 'operate', summary: 'placement strategies by scope and the slow-start window', errors: CLUSTER_WIDE,
    response: { description: 'the settings', schema: z.object({ strategies: z.record(z.string(), z.string()), slow_start_ms: z.number().int(), known: z.array(z.string()) }) },
  },
  { method: 'put', path: '/api/v1/placement', tag: 'settings', scope: 'operate', summary: 'set the slow-start window (audited)', body: placementBody, errors: CLUSTER_WIDE, response: { description: 'old and new', schema: z.object({ slow_start_ms: change(z.number().int()) }) } },
  {
    method: 'put', path: '/api/v1/placement/:scope', tag: 'settings', scope: 'operate', summary: 'set the placement strategy of a scope (`*`, a kind or kind:model; audited)', body: strategyBody, errors: CLUSTER_WIDE,
    response: { description: 'old and new', schema: z.object({ scope: z.string() }).extend(change(z.string()).shape) },
  },
  { method: 'delete', path: '/api/v1/placement/:scope', tag: 'settings', scope: 'operate', summary: 'drop the strategy of a scope (audited)', errors: CLUSTER_WIDE, response: { description: 'old and new', schema: z.object({ scope: z.string() }).extend(change(z.string()).shape) } },
  { method: 'get', path: '/api/v1/autoscaling', tag: 'settings', scope: 'operate', summary: 'every autoscaled pool: policy, desired and current workers, why', errors: CLUSTER_WIDE, response: { description: 'the pools', schema: z.object({ pools: z.array(poolStatus) }) } },
  {
    method: 'put', path: '/api/v1/autoscaling/:pool', tag: 'settings', scope: 'operate', summary: 'set the autoscaling policy of a pool (`*`, a kind or kind:model; audited)', body: scalingPolicySchema, errors: CLUSTER_WIDE,
    response: { description: 'old and new', schema: z.object({ pool: z.string() }).extend(change(policy).shape) },
  },
  {
    method: 'delete', path: '/api/v1/autoscaling/:pool', tag: 'settings', scope: 'operate', summary: 'drop the autoscaling policy of a pool (audited)', errors: { ...CLUSTER_WIDE, 400: 'no policy for this pool' },
    response: { description: 'old and new', schema: z.object({ pool: z.string() }).extend(change(policy).shape) },
  },
  {
    method: 'get', path: '/api/v1/dashboard/tasks', tag: 'dashboard', scope: 'operate', summary: 'the newest tasks of a status (kind and worker filter the newest 10,000)', query: listQuery, errors: OPERATOR,
    response: { description: 'the tasks', schema: z.object({ tasks: z.array(taskViewSchema), truncated: z.boolean() }) },
  },
  {
    method: 'get', path: '/api/v1/dashboard/tasks/:id', tag: 'dashboard', scope: 'operate', summary: "a task's page: the task, its input, session, attempts and queue standing", errors: OPERATOR,
    response: { description: 'the task', schema: z.object({ task: taskViewSchema, ...inputFields, session_id: z.string().nullable(), max_attempts: z.number().int(), ...standing }) },
  },
  {
    method: 'get', path: '/api/v1/dashboard/queue', tag: 'dashboard', scope: 'operate', summary: 'queued tasks counted by kind and priority', errors: OPERATOR,
    response: { description: 'the groups', schema: z.object({ groups: z.array(z.object({ kind: z.string(), priority: z.number().int(), queued: z.number().int() })), total: z.number().int(), truncated: z.boolean() }) },
  },
  {
    method: 'get', path: '/api/v1/dashboard/queue/tasks', tag: 'dashboard', scope: 'operate', summary: 'queued tasks in dispatch order with positions and ETA', query: queueQuery, errors: OPERATOR,
    response: { description: 'the tasks', schema: z.object({ tasks: z.array(taskViewSchema.extend({ model: z.string().nullable(), queue_position: z.number().int(), eta_ms: z.number().nullable() })), truncated: z.boolean() }) },
  },
  {
    method: 'post', path: '/api/v1/blobs', tag: 'images', scope: 'any', summary: 'store a blob (the raw body; content-addressed, sha256)', status: 201,
    bodies: [{ contentType: 'application/octet-stream', description: 'any bytes, with their Content-Type' }, { contentType: 'image/*' }],
    response: { description: 'the blob', schema: z.object({ id: z.string(), size: z.number().int(), content_type: z.string() }), headers: { Location: 'the blob\'s URL' } }, errors: { 413: 'larger than the blob size limit' },
  },
  { method: 'get', path: '/api/v1/blobs/:id', tag: 'images', scope: 'any', summary: 'a blob (immutable, cached for a year)', response: { description: 'the bytes with their Content-Type', contentTypes: ['application/octet-stream'] } },
  {
    method: 'post', path: '/api/v1/images', tag: 'images', scope: 'any', summary: 'an image batch: one chain of operations over many images', status: 202, body: jsonBatch,
    bodies: [{ contentType: 'multipart/form-data', schema: z.object({ ops: z.string().meta({ description: 'the chain of operations as JSON' }), files: z.array(z.string().meta({ contentMediaType: 'application/octet-stream' })).meta({ description: 'the images' }) }) }],
    response: { description: 'the batch', schema: batchView, headers: { Location: 'the batch\'s URL' } }, errors: { 413: 'a request or image over the limit' },
  },
  {
    method: 'get', path: '/api/v1/batches', tag: 'images', scope: 'any', summary: "image batches newest first, a page at a time (a tenant's key: its tenant's; a user key: its own)", query: batchListQuery,
    response: { description: 'a page of batches (no per-image list) and where the next starts', schema: z.object({ batches: z.array(batchView.omit({ images: true }).meta({ id: 'ImageBatchSummary' })), next_cursor: z.string().nullable() }) },
  },
  { method: 'get', path: '/api/v1/batches/:id', tag: 'images', scope: 'any', summary: 'an image batch and each of its images', response: { description: 'the batch', schema: batchView } },
  { method: 'get', path: '/api/v1/batches/:id/zip', tag: 'images', scope: 'any', summary: 'the succeeded outputs of a batch in one ZIP', response: { description: 'a ZIP of stored entries named after the inputs', contentTypes: ['application/zip'] } },
  { method: 'post', path: '/api/v1/batches/:id/retry', tag: 'images', scope: 'any', summary: 'run the failed images of a batch again', status: 202, response: { description: 'the batch', schema: batchView } },
];

