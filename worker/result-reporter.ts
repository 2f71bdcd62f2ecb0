/**
 * Sends result events to the master's ResultService. Events are batched per
 * event-loop turn onto one long-lived client stream. Finals are delivered at
 * least once: each stream is ended (rotated) regularly, and only when the
 * master answers the stream are its finals forgotten; if a stream fails, its
 * finals are re-sent with the idempotent unary SubmitResult (the master
 * answers DUPLICATE for one it already has).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import { grpcPackageDefinition } from '../common/proto-root.js';
import type { ProtoGrpcType } from '../common/gen/result_service.js';
import type { ResultServiceClient } from '../common/gen/taskwire/v1/ResultService.js';
import type { ResultEvent } from '../common/gen/taskwire/v1/ResultEvent.js';
import type { ResultBatch } from '../common/gen/taskwire/v1/ResultBatch.js';
import type { TaskResult } from '../common/gen/taskwire/v1/TaskResult.js';
import type { FetchSecretsRequest } from '../common/gen/taskwire/v1/FetchSecretsRequest.js';

export interface ResultReporterOptions {
  log: Logger;
  /** Rotate the stream after this many finals (default 1024). */
  maxFinalsPerStream?: number;
  /** ...or this often when it carried finals (default 1000 ms). */
  rotateIntervalMs?: number;
  /** Events buffered while the master is unreachable (default 100k); chunks are dropped first. */
  maxBuffered?: number;
}

const FLUSH_EVERY_EVENTS = 256;

/** A final as it was sent on the stream (the SubmitResult request is built from it only for a re-send). */
type Final = ResultEvent & { task_id: string; attempt: number; final: TaskResult };
const finalKey = (r: { task_id?: string; attempt?: number }) => `${r.task_id}#${r.attempt}`;

interface OpenStream {
  call: grpc.ClientWritableStream<ResultBatch>;
  finals: Map<string, Final>;
  openedAtMs: number;
}

export class ResultReporter {
  private client: ResultServiceClient | undefined;
  private target: string | undefined;
  private stream: OpenStream | undefined;
  private pending: ResultEvent[] = [];
  /** The finals among `pending`, with their keys. */
  private pendingFinals: [string, Final][] = [];
  /** Events taken back before they went out (see retract). */
  private readonly retracted = new Set<ResultEvent>();
  private flushScheduled = false;
  /** Finals not yet confirmed by the master, by task#attempt. */
  private readonly unconfirmed = new Map<string, Final>();
  private readonly resending = new Set<string>();
  private readonly rotateTimer: NodeJS.Timeout;
  private closed = false;
  private readonly maxFinals: number;
  private readonly maxBuffered: number;
  readonly stats = { sentEvents: 0, confirmedFinals: 0, resentFinals: 0, rejectedFinals: 0, droppedChunks: 0 };

  constructor(private readonly options: ResultReporterOptions) {
    this.maxFinals = options.maxFinalsPerStream ?? 1024;
    this.maxBuffered = options.maxBuffered ?? 100_000;
    this.rotateTimer = setInterval(() => {
      if (this.stream && this.stream.finals.size > 0) this.endStream();
    }, options.rotateIntervalMs ?? 1000);
    this.rotateTimer.unref();
  }

  /** (Re)points the reporter at a ResultService address. */
  setTarget(target: string): void {
    if (this.target === target || this.closed) return;
    this.target = target;
    this.endStream();
    this.client?.close();
    const proto = grpc.loadPackageDefinition(grpcPackageDefinition()) as unknown as ProtoGrpcType;
    this.client = new proto.taskwire.v1.ResultService(target, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    }) as unknown as ResultServiceClient;
    this.options.log.info({ target }, 'result service target set');
    for (const f of this.unconfirmed.values()) this.resend(f);
    this.scheduleFlush();
  }

  send(event: ResultEvent): void {
    if (this.closed) return;
    if (event.final) {
      const f = event as Final;
      const key = finalKey(f);
      this.unconfirmed.set(key, f);
      this.pendingFinals.push([key, f]);
    }
    if (this.pending.length >= this.maxBuffered) {
      const i = this.pending.findIndex((e) => !e.final);
      if (i >= 0) {
        this.pending.splice(i, 1);
        this.stats.droppedChunks++;
      }
    }
    this.pending.push(event);
    // Write in slices so the master starts on results while we still run tasks.
    if (this.pending.length >= FLUSH_EVERY_EVENTS) this.flush();
    else this.scheduleFlush();
  }

  /**
   * Takes back an event not yet sent (a STARTED whose final follows at once:
   * the final carries started_at_ms). No-op if it already went out.
   */
  retract(event: ResultEvent): void {
    if (this.pending.length > 0) this.retracted.add(event);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private openStream(): OpenStream | undefined {
    if (!this.client) return undefined;
    const finals = new Map<string, Final>();
    const call = this.client.StreamResults((err, res) => {
      if (err) {
        this.options.log.warn({ code: err.code, err: err.details }, 'result stream failed; re-sending its finals');
        for (const f of finals.values()) this.resend(f);
      } else {
        for (const k of finals.keys()) {
          if (this.unconfirmed.delete(k)) this.stats.confirmedFinals++;
        }
        if (res && Number(res.rejected) > 0) this.options.log.warn({ rejected: res.rejected }, 'master rejected result events');
      }
      if (this.stream?.call === call) this.stream = undefined;
      if (this.pending.length > 0) this.scheduleFlush();
    });
    call.on('error', () => undefined); // reported through the callback
    return { call, finals, openedAtMs: Date.now() };
  }

  private flush(): void {
    if (this.pending.length === 0 || !this.client) return;
    this.stream ??= this.openStream();
    const s = this.stream;
    if (!s) return;
    let events = this.pending;
    this.pending = [];
    if (this.retracted.size > 0) {
      events = events.filter((e) => !this.retracted.has(e));
      this.retracted.clear();
    }
    for (const [k, f] of this.pendingFinals) if (this.unconfirmed.has(k)) s.finals.set(k, f);
    this.pendingFinals = [];
    if (events.length === 0) return;
    s.call.write({ events });
    this.stats.sentEvents += events.length;
    if (s.finals.size >= this.maxFinals) this.endStream();
  }

  private endStream(): void {
    const s = this.stream;
    this.stream = undefined;
    s?.call.end();
  }

  private resend(f: Final): void {
    const k = finalKey(f);
    if (this.resending.has(k) || this.closed) return;
    this.resending.add(k);
    this.stats.resentFinals++;
    const attempt = (n: number) => {
      if (!this.client || this.closed || !this.unconfirmed.has(k)) {
        this.resending.delete(k);
        return;
      }
      const req = { ...f.final, task_id: f.task_id, attempt: f.attempt, worker_id: f.worker_id, result_token: f.result_token };
      this.client.SubmitResult(req, { deadline: Date.now() + 5000 }, (err, res) => {
        if (err) {
          setTimeout(() => attempt(n + 1), Math.min(5000, 100 * 2 ** Math.min(n, 6))).unref();
          return;
        }
        this.resending.delete(k);
        this.unconfirmed.delete(k);
        if (res?.disposition === 'DISPOSITION_REJECTED') {
          this.stats.rejectedFinals++;
          this.options.log.warn({ task_id: f.task_id, attempt: f.attempt, reason: res.reason }, 'final result rejected');
        } else this.stats.confirmedFinals++;
      });
    };
    attempt(0);
  }

  /** The ResultService client (blob calls, see blob-client.ts); undefined before setTarget. */
  get service(): ResultServiceClient | undefined {
    return this.client;
  }

  fetchSecrets(req: FetchSecretsRequest): Promise<Record<string, string>> {
    return new Promise((resolve, reject) => {
      if (!this.client) {
        reject(new Error('result service not connected'));
        return;
      }
      this.client.FetchSecrets(req, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res?.secrets ?? {})));
    });
  }

  /** Number of finals the master has not confirmed yet. */
  get unconfirmedCount(): number {
    return this.unconfirmed.size;
  }

  /** Flushes, ends the stream and waits (up to timeoutMs) for finals to be confirmed. */
  async drain(timeoutMs: number): Promise<void> {
    this.flush();
    this.endStream();
    const until = Date.now() + timeoutMs;
    while (this.unconfirmed.size > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      if (this.pending.length > 0) this.flush();
      if (this.stream) this.endStream();
    }
  }

  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    await this.drain(timeoutMs);
    this.closed = true;
    clearInterval(this.rotateTimer);
    this.client?.close();
  }
}
