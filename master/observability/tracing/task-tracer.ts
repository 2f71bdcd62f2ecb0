/**
 * One trace per task, built from the task event stream (the core never calls
 * this). Spans, all in the trace of the submit request:
 *
 *   {method} {path} | socket.io task:submit    SERVER  (RequestTraces; the client's traceparent is its parent)
 *   └ taskwire.task                            submit to final state (status ERROR for failed/expired)
 *     ├ taskwire.queue                         queued (or re-queued after a retry) to assigned, per attempt
 *     ├ taskwire.attempt                       assigned to the attempt's end, per attempt (worker_id)
 *     │  └ taskwire.worker.run ...             the worker's spans (it continues from the assignment's traceparent)
 *     └ taskwire.result                        final result accepted to announced (after the store's commit)
 *
 * The assignment carries the attempt span's traceparent: `wrapSink` adds it
 * to each outgoing TaskAssignment. Tasks traced at once are bounded
 * (`maxTasks`); beyond that new tasks are not traced (`dropped` counts them).
 * Tasks restored after a restart have no trace.
 */
import { SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { formatTraceparent } from '../../../common/otel-tracing.js';
import type { TaskAssignment } from '../../../common/wire.js';
import type { AssignmentSink } from '../../core/task-dispatch.js';
import { FINAL_EVENT_TYPES, type EventOf, type FinalEventType, type TaskEvents } from '../../core/task-events.js';
import type { TaskRecord } from '../../core/task-record.js';
import type { RequestTraces } from './request-traces.js';

interface TaskTrace {
  span: Span;
  ctx: Context;
  queue: Span | undefined;
  attempt: Span | undefined;
  /** traceparent of the current attempt's span. */
  traceparent: string | undefined;
}

export interface TaskTracerOptions {
  tracer: Tracer;
  events: TaskEvents;
  requests: RequestTraces;
  /** Tasks traced at once (default 100 000). */
  maxTasks?: number;
}

export class TaskTracer {
  private readonly tasks = new Map<string, TaskTrace>();
  private readonly tracer: Tracer;
  private readonly requests: RequestTraces;
  private readonly maxTasks: number;
  private readonly unsubscribe: (() => void)[] = [];
  /** Tasks not traced because `maxTasks` were open. */
  dropped = 0;

  constructor(o: TaskTracerOptions) {
    this.tracer = o.tracer;
    this.requests = o.requests;
    this.maxTasks = o.maxTasks ?? 100_000;
    const ev = o.events;
    this.unsubscribe.push(
      ev.on('task.queued', (e, t) => this.queued(e, t)),
      ev.on('task.assigned', (e) => this.assigned(e)),
      ev.on('task.started', (e) => this.tasks.get(e.task_id)?.attempt?.addEvent('started', e.ts)),
      ev.on('task.retried', (e) => this.retried(e)),
      ev.on(FINAL_EVENT_TYPES, (e, t) => this.final(e, t)),
    );
  }

  /** Tasks with an open trace. */
  get open(): number {
    return this.tasks.size;
  }

  /** The sink with each assignment's traceparent filled in. */
  wrapSink(sink: AssignmentSink): AssignmentSink {
    return {
      publishAssignments: (workerId, list: TaskAssignment[]) => {
        for (const a of list) {
          const tp = a.task_id === undefined ? undefined : this.tasks.get(a.task_id)?.traceparent;
          if (tp) a.traceparent = tp;
        }
        sink.publishAssignments(workerId, list);
      },
      publishControl: (workerId, command) => sink.publishControl(workerId, command),
    };
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const t of this.tasks.values()) {
      t.queue?.end();
      t.attempt?.end();
      t.span.setAttribute('taskwire.unfinished', true);
      t.span.end();
    }
    this.tasks.clear();
  }

  private queued(e: EventOf<'task.queued'>, t: TaskRecord): void {
    if (this.tasks.has(e.task_id)) return;
    if (this.tasks.size >= this.maxTasks) {
      this.dropped++;
      return;
    }
    const parent = this.requests.current();
    const span = this.tracer.startSpan(
      'taskwire.task',
      { startTime: t.createdAtMs, attributes: { 'taskwire.task_id': e.task_id, 'taskwire.kind': e.kind, 'taskwire.priority': e.priority } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const queue = this.tracer.startSpan('taskwire.queue', { startTime: e.ts, attributes: { 'taskwire.attempt': e.attempt + 1 } }, ctx);
    this.tasks.set(e.task_id, { span, ctx, queue, attempt: undefined, traceparent: undefined });
  }

  private assigned(e: EventOf<'task.assigned'>): void {
    const tt = this.tasks.get(e.task_id);
    if (!tt) return;
    tt.queue?.end(e.ts);
    tt.queue = undefined;
    tt.attempt?.end(e.ts);
    const span = this.tracer.startSpan(
      'taskwire.attempt',
      { startTime: e.ts, attributes: { 'taskwire.attempt': e.attempt, 'taskwire.worker_id': e.worker_id, 'taskwire.kind': e.kind } },
      tt.ctx,
    );
    tt.attempt = span;
    tt.traceparent = formatTraceparent(span.spanContext());
  }

  private retried(e: EventOf<'task.retried'>): void {
    const tt = this.tasks.get(e.task_id);
    if (!tt) return;
    if (tt.attempt) {
      tt.attempt.setAttribute('taskwire.error_code', e.code);
      tt.attempt.setStatus({ code: SpanStatusCode.ERROR, message: e.code });
      tt.attempt.end(e.ts);
      tt.attempt = undefined;
      tt.traceparent = undefined;
    }
    tt.queue?.end(e.ts);
    tt.queue = this.tracer.startSpan('taskwire.queue', { startTime: e.ts, attributes: { 'taskwire.attempt': e.attempt + 1, 'taskwire.retry_delay_ms': e.delay_ms } }, tt.ctx);
  }

  private final(e: EventOf<FinalEventType>, t: TaskRecord): void {
    const tt = this.tasks.get(e.task_id);
    if (!tt) return;
    this.tasks.delete(e.task_id);
    const status = e.type.slice('task.'.length);
    const failed = status === 'failed' || status === 'expired';
    const finishedAt = t.finishedAtMs ?? e.ts;
    tt.queue?.end(finishedAt);
    if (tt.attempt) {
      if (failed) tt.attempt.setStatus({ code: SpanStatusCode.ERROR, message: e.error?.code ?? status });
      tt.attempt.end(finishedAt);
    }
    const result = this.tracer.startSpan('taskwire.result', { startTime: Math.min(finishedAt, e.ts), attributes: { 'taskwire.status': status } }, tt.ctx);
    result.end(e.ts);
    tt.span.setAttribute('taskwire.status', status);
    tt.span.setAttribute('taskwire.attempts', e.attempt);
    if (e.error) tt.span.setAttribute('taskwire.error_code', e.error.code);
    if (failed) tt.span.setStatus({ code: SpanStatusCode.ERROR, message: e.error?.code ?? status });
    tt.span.end(e.ts);
  }
}
