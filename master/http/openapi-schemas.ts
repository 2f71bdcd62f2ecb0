/**
 * zod schemas of the REST API's answers, for the OpenAPI document. The
 * answers themselves are built as TypeScript types (common/task-view.ts,
 * operator-routes.ts); the compile-time checks below fail when a schema and
 * its type drift apart.
 */
import { z } from 'zod';
import { TASK_STATUSES, type TaskView, type WorkerView } from '../../common/task-view.js';
import { LOG_LEVEL_NAMES } from '../logs/log-entry.js';

const iso = z.string().meta({ description: 'ISO 8601 time' });
const jsonValue = z.unknown().meta({ description: 'any JSON value' });

export const errorSchema = z
  .object({ error: z.object({ code: z.string().meta({ description: 'stable error code (BAD_REQUEST, NOT_FOUND, FORBIDDEN, ...)' }), message: z.string(), field: z.string().optional() }) })
  .meta({ id: 'Error' });

export const taskViewSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    status: z.enum(TASK_STATUSES),
    priority: z.number().int(),
    attempt: z.number().int(),
    worker_id: z.string().nullable(),
    worker_language: z.string().nullable(),
    created_at: iso,
    finished_at: iso.nullable(),
    result: jsonValue.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    timings: z.object({ queue_wait_ms: z.number().nullable(), processing_ms: z.number().nullable(), total_ms: z.number().nullable(), ttft_ms: z.number().nullable() }),
    usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() }).nullable(),
    history: z.array(z.object({ status: z.enum(TASK_STATUSES), at: iso, reason: z.string().optional(), attempt: z.number().int().optional(), worker_id: z.string().optional() })),
  })
  .meta({ id: 'Task' });

export const workerViewSchema = z
  .object({
    id: z.string(),
    state: z.enum(['online', 'draining', 'offline']),
    kinds: z.array(z.string()),
    capacity: z.number().int(),
    running: z.number().int(),
    language: z.string(),
    version: z.string(),
    hostname: z.string(),
    models: z.array(z.object({ kind: z.string(), name: z.string(), versions: z.array(z.string()), ready: z.boolean(), provider: z.string(), execution_provider: z.string() })),
    labels: z.record(z.string(), z.string()),
    features: z.array(z.string()).meta({ description: 'what it supports within its kinds (`image:format:avif`); empty: all of them' }),
    connected_at: iso.nullable(),
    last_seen: iso,
    load: z.number().optional().meta({ description: 'running / capacity (operator view)' }),
    heartbeat_age_ms: z.number().optional(),
    suspect: z.boolean().optional(),
  })
  .meta({ id: 'Worker' });

export const logLineSchema = z
  .object({ id: z.number().int(), ts: iso, level: z.enum(LOG_LEVEL_NAMES), source: z.string(), worker_id: z.string().nullable(), task_id: z.string().nullable(), tenant: z.string().nullable(), msg: z.string() })
  .meta({ id: 'LogLine' });

export const taskPageSchema = z.object({ tasks: z.array(taskViewSchema), next_cursor: z.string().nullable() });
export const logPageSchema = z.object({ logs: z.array(logLineSchema), next_cursor: z.string().nullable(), last_id: z.number().int() });

// Compile-time: every answer of the type fits its schema, and the schema names exactly the type's fields.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const taskFits: [TaskView] extends [z.infer<typeof taskViewSchema>] ? true : false = true;
const taskKeys: Same<keyof z.infer<typeof taskViewSchema>, keyof TaskView> = true;
const workerFits: [WorkerView] extends [z.infer<typeof workerViewSchema>] ? true : false = true;
void taskFits;
void taskKeys;
void workerFits;
