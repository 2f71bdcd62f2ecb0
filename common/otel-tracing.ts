/**
 * OpenTelemetry tracing for the master and the TypeScript worker: a tracer
 * that exports spans over OTLP/HTTP (JSON) in batches, only when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
 * set; otherwise `tracingFromEnv` returns undefined and nothing is made (no
 * provider, no timers, no per-task work). `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none` turn it off too. `OTEL_SERVICE_NAME` names the
 * service (default `taskwire-master` / `taskwire-worker`); the exporter reads
 * `OTEL_EXPORTER_OTLP_HEADERS` and the batch processor `OTEL_BSP_*` itself.
 *
 * No global registration: spans get their parent passed explicitly (a W3C
 * `traceparent` from a request or an assignment), so nothing depends on a
 * context manager.
 */
import { ROOT_CONTEXT, type Context, type SpanContext, TraceFlags, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Env } from './env.js';
import { ConfigError } from './errors.js';

export interface Tracing {
  readonly tracer: Tracer;
  /** Where spans go (for logs). */
  readonly endpoint: string;
  /** Exports what is buffered and stops; idempotent. */
  shutdown(): Promise<void>;
}

/** The traces URL from the standard variables, or undefined when tracing is off. */
export function otlpTracesUrl(env: Env): string | undefined {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return undefined;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return undefined;
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const name = specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const raw = specific || general;
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  // The general endpoint is a base URL: the signal path is appended (OTLP spec).
  return specific ? url.toString() : `${raw.replace(/\/+$/, '')}/v1/traces`;
}

/** A tracer exporting to the endpoint of the standard variables, or undefined when they do not ask for one. */
export function tracingFromEnv(env: Env, defaultServiceName: string, exporter?: SpanExporter): Tracing | undefined {
  const url = otlpTracesUrl(env);
  if (url === undefined) return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || defaultServiceName }),
    spanProcessors: [new BatchSpanProcessor(exporter ?? new OTLPTraceExporter({ url }))],
  });
  let closed: Promise<void> | undefined;
  return {
    tracer: provider.getTracer('taskwire'),
    endpoint: url,
    shutdown: () => (closed ??= provider.shutdown().catch(() => undefined)),
  };
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A W3C `traceparent` header as a remote span context; undefined when absent or malformed (all-zero ids, version ff). */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string' || value.length > 128) return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || m[1] === 'ff') return undefined;
  const traceId = m[2]!;
  const spanId = m[3]!;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(m[4]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/** The `traceparent` of a span context. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & TraceFlags.SAMPLED}`;
}

/** A context whose parent is the given traceparent (the root context when there is none). */
export function contextFromTraceparent(value: unknown): Context {
  const sc = parseTraceparent(value);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
}
