/**
 * Runs assignments with their handlers: one abort per attempt (cancel,
 * deadline, shutdown), streamed chunks with increasing seq, and one final
 * result per attempt, all through the ResultReporter.
 */
import { errorMessage } from '../common/errors.js';
import { toValue } from '../common/json-value.js';
import type { Logger } from '../common/logger.js';
import type { TaskAssignment__Output } from '../common/wire.js';
import type { ResultEvent } from '../common/gen/taskwire/v1/ResultEvent.js';
import type { TaskResult } from '../common/gen/taskwire/v1/TaskResult.js';
import type { ResultReporter } from './result-reporter.js';
import type { ResultRoutes } from './result-routes.js';
import { type BlobSource, grpcTaskBlobs, localFirst } from './blob-client.js';
import { TaskFailure, type TaskBlobs, type TaskHandler, type TaskOutput } from './handlers/task-handler.js';
import type { WorkerTelemetry } from './attempt-telemetry.js';
import { AttemptResources } from './attempt-resources.js';
import { attemptLogOn, logAttemptEnded, logAttemptStarted } from './attempt-log.js';

export type AbortKind = 'cancelled' | 'deadline' | 'shutdown';

class AbortReason extends Error {
  constructor(readonly kind: AbortKind, message: string) {
    super(message);
    this.name = 'AbortError';
  }
}

/**
 * An attempt's abort. The AbortController (a few µs to make) is made only
 * when a handler asks for the signal: a quick task never does.
 */
class AttemptAbort {
  private controller: AbortController | undefined;
  aborted = false;
  reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** The first reason wins, as with AbortController. */
  abort(reason: AbortReason): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

interface Running {
  assignment: TaskAssignment__Output;
  abort: AttemptAbort;
  seq: number;
  done: Promise<void>;
  /** Last time an event of this attempt went out (heartbeats fill the silences). */
  lastSentMs: number;
}

export interface TaskRunnerEvents {
  onChange(running: number): void;
  /** An attempt ended (metrics): its kind, outcome, handler time and error code. */
  onFinished?(kind: string, outcome: 'succeeded' | 'failed' | 'cancelled', seconds: number, code?: string): void;
}

/** How often the runner checks deadlines and due heartbeats of all running attempts. */
const SWEEP_MS = 100;

export class TaskRunner {
  private readonly running = new Map<string, Running>();
  /** One timer for every running attempt's heartbeat and deadline (not two timers per task). */
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Each attempt's share of the process's CPU time and memory (attempt-resources.ts): Usage.cpu_us, mem_mib_ms. */
  private readonly resources: AttemptResources;
  /** The master's blob directory when this worker can read it (WorkerOptions.blobDir), and who is told where each fetched blob came from. */
  blobAccess?: { dir?: string; onRead?: (source: BlobSource) => void };

  constructor(
    private readonly workerId: string,
    private readonly handlers: ReadonlyMap<string, TaskHandler>,
    private readonly reporter: ResultReporter,
    private readonly log: Logger,
    private readonly events: TaskRunnerEvents,
    /** Provider / inference metrics and the attempt's spans (none: handlers get no ctx.telemetry). */
    private readonly telemetry?: WorkerTelemetry,
    resources?: AttemptResources,
  ) {
    this.resources = resources ?? new AttemptResources();
  }

  private sweep(): void {
    if (this.resources.size > 0) this.resources.sample();
    const now = Date.now();
    for (const r of this.running.values()) {
      const a = r.assignment;
      if (r.abort.aborted) continue;
      if (Number(a.deadline_ms) > 0 && now >= Number(a.deadline_ms)) {
        r.abort.abort(new AbortReason('deadline', 'deadline exceeded'));
        continue;
      }
      if (a.heartbeat_interval_ms > 0 && now - r.lastSentMs >= a.heartbeat_interval_ms - SWEEP_MS) {
        this.send(r, { event: 'heartbeat', heartbeat: { ts_ms: now } });
      }
    }
    if (this.running.size === 0 && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  private send(r: Running, body: Omit<ResultEvent, 'task_id' | 'attempt' | 'worker_id' | 'result_token' | 'seq'>): ResultEvent {
    r.lastSentMs = Date.now();
    const a = r.assignment;
    const e = body as ResultEvent;
    e.task_id = a.task_id;
    e.attempt = a.attempt;
    e.worker_id = this.workerId;
    e.result_token = a.result_token;
    e.seq = ++r.seq;
    this.reporter.send(e);
    return e;
  }

  get size(): number {
    return this.running.size;
  }

  start(a: TaskAssignment__Output): void {
    const key = `${a.task_id}#${a.attempt}`;
    if (this.running.has(key)) return; // duplicate delivery of the same attempt
    const r: Running = { assignment: a, abort: new AttemptAbort(), seq: 0, done: Promise.resolve(), lastSentMs: Date.now() };
    this.running.set(key, r);
    if (!this.sweepTimer) {
      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweepTimer.unref();
    }
    this.events.onChange(this.running.size);
    r.done = this.execute(r).finally(() => {
      this.running.delete(key);
      this.events.onChange(this.running.size);
    });
  }

  private async execute(r: Running): Promise<void> {
    const a = r.assignment;
    const startedAtMs = Date.now();
    const started = this.send(r, { event: 'started', started: { started_at_ms: startedAtMs } });
    // The attempt's start and end lines with its task id (attempt-log.ts), only when info is on.
    const logged = attemptLogOn(this.log);
    if (logged) logAttemptStarted(this.log, a);
    if (Number(a.deadline_ms) > 0 && Date.now() >= Number(a.deadline_ms)) r.abort.abort(new AbortReason('deadline', 'deadline exceeded'));
    const result: TaskResult = { outcome: 'TASK_OUTCOME_SUCCEEDED', started_at_ms: startedAtMs };
    let firstChunkAtMs: number | undefined;
    const telemetry = this.telemetry?.begin(a, startedAtMs);
    const mark = this.resources.begin(); // ended below, whatever the handler does
    try {
      const handler = this.handlers.get(a.kind);
      if (!handler) throw new TaskFailure('UNSUPPORTED', `this worker does not run kind "${a.kind}"`, { retryable: true });
      const input = a.input ?? null;
      const parentLog = this.log;
      let childLog: Logger | undefined;
      const out: TaskOutput = await handler.run({
        taskId: a.task_id,
        attempt: a.attempt,
        kind: a.kind,
        input,
        get signal() {
          return r.abort.signal;
        },
        deadlineMs: Number(a.deadline_ms),
        get log() {
          return (childLog ??= parentLog.child({ task_id: a.task_id }));
        },
        stream: a.stream,
        emit: (chunk) => {
          if (r.abort.aborted) return;
          firstChunkAtMs ??= Date.now();
          if (!a.stream) return; // nobody watches partial output: the final carries it all
          const c: { text?: string; data?: ReturnType<typeof toValue> } = {};
          if (chunk.text) c.text = chunk.text;
          if (chunk.data !== undefined) c.data = toValue(chunk.data);
          this.send(r, { event: 'chunk', chunk: c });
        },
        secrets: () =>
          a.secret_names.length === 0
            ? Promise.resolve({})
            : this.reporter.fetchSecrets({ task_id: a.task_id, attempt: a.attempt, worker_id: this.workerId, result_token: a.result_token }),
        ...(telemetry ? { telemetry: telemetry.handler } : {}),
        blobs: this.blobsFor(a),
      });
      if (r.abort.aborted) throw r.abort.reason;
      result.output = toValue(out.output);
      if (out.usage) result.usage = { ...out.usage };
    } catch (err) {
      const reason: unknown = r.abort.aborted ? r.abort.reason : err;
      Object.assign(result, this.classify(reason));
      if (reason instanceof TaskFailure && reason.usage) result.usage = { ...reason.usage };
    }
    const used = this.resources.end(mark);
    const usage = (result.usage ??= {});
    usage.cpu_us = used.cpu_us;
    usage.mem_mib_ms = used.mem_mib_ms;
    if (firstChunkAtMs !== undefined) usage.ttft_ms = firstChunkAtMs - startedAtMs;
    result.finished_at_ms = Date.now();
    result.last_seq = r.seq;
    if (this.events.onFinished) {
      const outcome = result.outcome === 'TASK_OUTCOME_SUCCEEDED' ? 'succeeded' : result.outcome === 'TASK_OUTCOME_CANCELLED' ? 'cancelled' : 'failed';
      this.events.onFinished(a.kind, outcome, (result.finished_at_ms - startedAtMs) / 1000, result.error?.code ?? undefined);
    }
    if (telemetry) {
      const outcome = result.outcome === 'TASK_OUTCOME_SUCCEEDED' ? 'succeeded' : result.outcome === 'TASK_OUTCOME_CANCELLED' ? 'cancelled' : 'failed';
      telemetry.end(outcome, result.error?.code ?? undefined);
    }
    if (logged) logAttemptEnded(this.log, a, result, result.finished_at_ms - startedAtMs);
    // A STARTED still waiting to go out says nothing this final does not (it carries started_at_ms).
    this.reporter.retract(started);
    this.send(r, { event: 'final', final: result });
  }

  private blobsFor(a: TaskAssignment__Output): TaskBlobs {
    const grpc = grpcTaskBlobs(() => (this.reporter as Partial<ResultRoutes>).serviceFor?.(a.task_id, a.attempt) ?? this.reporter.service, {
      task_id: a.task_id,
      attempt: a.attempt,
      worker_id: this.workerId,
      result_token: a.result_token,
    });
    return this.blobAccess ? localFirst(this.blobAccess.dir, grpc, this.blobAccess.onRead) : grpc;
  }

  private classify(err: unknown): Pick<TaskResult, 'outcome' | 'error'> {
    if (err instanceof AbortReason) {
      if (err.kind === 'cancelled') return { outcome: 'TASK_OUTCOME_CANCELLED', error: { code: 'CANCELLED', message: err.message } };
      if (err.kind === 'deadline') return { outcome: 'TASK_OUTCOME_FAILED', error: { code: 'DEADLINE_EXCEEDED', message: err.message, retryable: true } };
      return { outcome: 'TASK_OUTCOME_FAILED', error: { code: 'WORKER_SHUTDOWN', message: err.message, retryable: true } };
    }
    if (err instanceof TaskFailure) {
      return { outcome: 'TASK_OUTCOME_FAILED', error: { code: err.code, message: err.message, retryable: err.retryable } };
    }
    this.log.error({ err: errorMessage(err) }, 'handler crashed');
    return { outcome: 'TASK_OUTCOME_FAILED', error: { code: 'INTERNAL', message: errorMessage(err), retryable: true } };
  }

  /** Aborts one attempt (control CANCEL). Returns false when not running here. */
  cancel(taskId: string, attempt: number, reason: string): boolean {
    const r = this.running.get(`${taskId}#${attempt}`);
    if (!r) return false;
    r.abort.abort(new AbortReason('cancelled', reason || 'cancelled'));
    return true;
  }

  /** Waits up to graceMs for running tasks, then aborts the rest (handed back as retryable). */
  async shutdown(graceMs: number): Promise<void> {
    const all = () => Promise.allSettled([...this.running.values()].map((r) => r.done));
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    if (timer) clearTimeout(timer);
    for (const r of this.running.values()) r.abort.abort(new AbortReason('shutdown', 'worker shutting down'));
    await all();
  }
}
