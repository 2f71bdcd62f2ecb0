/**
 * The submit span of a task: which HTTP request (REST, OpenAI gateway,
 * KServe) or Socket.IO event a task was created in. Every request runs in an
 * AsyncLocalStorage scope holding its incoming W3C `traceparent` and start
 * time; no span is made for it unless a task is queued inside that scope
 * (`current()`, called by TaskTracer on `task.queued`, which TaskService
 * publishes synchronously within the submit call). A GET costs one small
 * object and no span.
 *
 * HTTP: the span is `SERVER`, named `{method} {path}`, parented on the
 * request's `traceparent` header, ended when the response is sent. Socket.IO:
 * `socket.io {event}`, parented on the handshake's `traceparent` header,
 * ended once the handler has queued its task.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, SpanKind, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import { contextFromTraceparent } from '../../../common/otel-tracing.js';

interface RequestScope {
  parent: Context;
  name: string;
  attributes: Record<string, string>;
  startMs: number;
  span: Span | undefined;
  /** The response went out (HTTP): a span made after that ends at once. */
  done: boolean;
  /** Socket.IO: end the span on the next turn once made. */
  endSoon: boolean;
}

/** The minimum of a Socket.IO server this needs (socket.use per event). */
export interface SocketIoLike {
  on(event: 'connection', fn: (socket: SocketLike) => void): unknown;
}
export interface SocketLike {
  handshake: { headers: Record<string, string | string[] | undefined> };
  use(fn: (packet: unknown[], next: (err?: Error) => void) => void): unknown;
}

export class RequestTraces {
  private readonly als = new AsyncLocalStorage<RequestScope>();

  constructor(private readonly tracer: Tracer) {}

  /** Express middleware (mount before every route). */
  router(): Router {
    const r = express.Router();
    r.use((req: Request, res: Response, next: NextFunction) => {
      const scope: RequestScope = {
        parent: contextFromTraceparent(req.headers.traceparent),
        name: `${req.method} ${req.path}`,
        attributes: { 'http.request.method': req.method, 'url.path': req.path },
        startMs: Date.now(),
        span: undefined,
        done: false,
        endSoon: false,
      };
      res.once('finish', () => {
        scope.done = true;
        if (scope.span) {
          scope.span.setAttribute('http.response.status_code', res.statusCode);
          scope.span.end();
        }
      });
      this.als.run(scope, next);
    });
    return r;
  }

  /** Runs every Socket.IO event handler in a scope of its own. */
  attachSocketIo(io: SocketIoLike): void {
    io.on('connection', (socket) => {
      socket.use((packet, next) => {
        const event = typeof packet[0] === 'string' ? packet[0] : 'event';
        const scope: RequestScope = {
          parent: contextFromTraceparent(socket.handshake.headers.traceparent),
          name: `socket.io ${event.slice(0, 64)}`,
          attributes: { 'messaging.system': 'socket.io', 'messaging.operation.name': event.slice(0, 64) },
          startMs: Date.now(),
          span: undefined,
          done: false,
          endSoon: true,
        };
        this.als.run(scope, next);
      });
    });
  }

  /**
   * The context a task created now belongs to: the submit span of the
   * request in scope (made on first use), or the root context outside any
   * request (a task queued by the master itself).
   */
  current(): Context {
    const scope = this.als.getStore();
    if (!scope) return ROOT_CONTEXT;
    if (!scope.span) {
      const span = this.tracer.startSpan(scope.name, { kind: SpanKind.SERVER, startTime: scope.startMs, attributes: scope.attributes }, scope.parent);
      scope.span = span;
      if (scope.done) span.end();
      else if (scope.endSoon) setImmediate(() => span.end());
    }
    return trace.setSpan(ROOT_CONTEXT, scope.span);
  }
}
