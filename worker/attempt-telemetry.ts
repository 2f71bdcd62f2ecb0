/**
 * Per-attempt telemetry of the TypeScript worker: metrics of what handlers
 * report (provider calls, inference runs) and, when the worker traces and
 * the assignment carries a `traceparent`, the attempt's spans:
 *
 *   taskwire.attempt (master)
 *   └ taskwire.worker.run        CONSUMER  assignment received to final result
 *     └ taskwire.provider.call   CLIENT    one LLM provider call (first token as an event)
 *     └ taskwire.inference       INTERNAL  one ONNX inference request (batch rows, queue, compute)
 *
 * Nothing is made when the worker keeps no metrics and does not trace
 * (`begin` returns undefined), or for an untraced attempt without metrics.
 */
import { SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { contextFromTraceparent, parseTraceparent } from '../common/otel-tracing.js';
import type { TaskAssignment__Output } from '../common/wire.js';
import type { HandlerTelemetry, InferenceRun, ProviderCall } from './handlers/handler-telemetry.js';
import type { WorkerMetrics } from './metrics-registry.js';

export interface AttemptTelemetry {
  readonly handler: HandlerTelemetry;
  /** The final result: outcome and error code. */
  end(outcome: 'succeeded' | 'failed' | 'cancelled', code: string | undefined): void;
}

export class WorkerTelemetry {
  /** Metrics without a span: the same for every attempt (nothing is made per task). */
  private untraced: AttemptTelemetry | undefined;

  constructor(
    private readonly workerId: string,
    private readonly metrics: WorkerMetrics | undefined,
    private readonly tracer: Tracer | undefined,
  ) {}

  /** Telemetry for one attempt, or undefined when there is nothing to record. */
  begin(a: TaskAssignment__Output, startedAtMs: number): AttemptTelemetry | undefined {
    const traced = this.tracer !== undefined && parseTraceparent(a.traceparent) !== undefined;
    if (!traced && !this.metrics) return undefined;
    if (!traced && this.untraced) return this.untraced;
    let span: Span | undefined;
    let ctx: Context | undefined;
    if (traced) {
      span = this.tracer!.startSpan(
        'taskwire.worker.run',
        {
          kind: SpanKind.CONSUMER,
          startTime: startedAtMs,
          attributes: { 'taskwire.task_id': a.task_id, 'taskwire.attempt': a.attempt, 'taskwire.kind': a.kind, 'taskwire.worker_id': this.workerId },
        },
        contextFromTraceparent(a.traceparent),
      );
      ctx = trace.setSpan(contextFromTraceparent(a.traceparent), span);
    }
    const metrics = this.metrics;
    const tracer = this.tracer;
    const handler: HandlerTelemetry = {
      providerCall: (provider, model): ProviderCall => {
        const start = performance.now();
        let ttft: number | undefined;
        const child = ctx
          ? tracer!.startSpan('taskwire.provider.call', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.system': provider, 'gen_ai.request.model': model } }, ctx)
          : undefined;
        let ended = false;
        return {
          firstToken: () => {
            if (ttft !== undefined) return;
            ttft = (performance.now() - start) / 1000;
            child?.addEvent('first_token');
          },
          end: ({ code, usage }) => {
            if (ended) return;
            ended = true;
            metrics?.providerCall(provider, model, (performance.now() - start) / 1000, ttft, code, usage);
            if (child) {
              if (usage) {
                child.setAttribute('gen_ai.usage.input_tokens', usage.prompt_tokens);
                child.setAttribute('gen_ai.usage.output_tokens', usage.completion_tokens);
              }
              if (code) child.setStatus({ code: SpanStatusCode.ERROR, message: code });
              child.end();
            }
          },
        };
      },
      inference: (run: InferenceRun) => {
        metrics?.inference(run);
        if (ctx) {
          const ms = (run.queueMs ?? 0) + (run.computeMs ?? 0);
          const now = Date.now();
          const child = tracer!.startSpan(
            'taskwire.inference',
            { startTime: now - ms, attributes: { 'taskwire.model': run.model, 'taskwire.batch_rows': run.batchRows ?? 0, 'taskwire.queue_ms': run.queueMs ?? 0 } },
            ctx,
          );
          if (!run.ok) child.setStatus({ code: SpanStatusCode.ERROR });
          child.end(now);
        }
      },
    };
    const attempt: AttemptTelemetry = {
      handler,
      end: (outcome, code) => {
        if (!span) return;
        span.setAttribute('taskwire.outcome', outcome);
        if (code) span.setAttribute('taskwire.error_code', code);
        if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? 'failed' });
        span.end();
      },
    };
    if (!traced) this.untraced = attempt;
    return attempt;
  }
}
