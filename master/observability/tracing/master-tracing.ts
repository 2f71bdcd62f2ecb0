/**
 * The master's tracing, wired by master.ts in four places: the request
 * scope router (first HTTP middleware), the Socket.IO hook, the assignment
 * sink (adds each attempt's traceparent) and close(). Exists only when the
 * OTLP endpoint is configured (common/otel-tracing.ts); otherwise master.ts
 * has `undefined` and nothing of this runs.
 */
import type { Router } from 'express';
import type { Env } from '../../../common/env.js';
import type { Logger } from '../../../common/logger.js';
import { type Tracing, tracingFromEnv } from '../../../common/otel-tracing.js';
import type { AssignmentSink } from '../../core/task-dispatch.js';
import type { TaskEvents } from '../../core/task-events.js';
import { RequestTraces, type SocketIoLike } from './request-traces.js';
import { TaskTracer } from './task-tracer.js';

export class MasterTracing {
  private readonly requests: RequestTraces;
  readonly tasks: TaskTracer;

  private constructor(private readonly tracing: Tracing, events: TaskEvents) {
    this.requests = new RequestTraces(tracing.tracer);
    this.tasks = new TaskTracer({ tracer: tracing.tracer, events, requests: this.requests });
  }

  /** Undefined unless OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set. */
  static fromEnv(env: Env, events: TaskEvents, log: Logger): MasterTracing | undefined {
    const tracing = tracingFromEnv(env, 'taskwire-master');
    if (!tracing) return undefined;
    log.info({ endpoint: tracing.endpoint }, 'exporting traces (OTLP/HTTP)');
    return new MasterTracing(tracing, events);
  }

  router(): Router {
    return this.requests.router();
  }

  attachSocketIo(io: SocketIoLike): void {
    this.requests.attachSocketIo(io);
  }

  wrapSink(sink: AssignmentSink): AssignmentSink {
    return this.tasks.wrapSink(sink);
  }

  /** Ends open task spans and exports what is buffered. */
  async close(): Promise<void> {
    this.tasks.close();
    await this.tracing.shutdown();
  }
}
