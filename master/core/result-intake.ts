/**
 * Results from workers (gRPC StreamResults / SubmitResult): the token check,
 * attempt fencing and duplicate detection, nothing more. An event that
 * passes becomes a typed outcome (result-outcome.ts) that TaskService
 * applies; the intake never changes a task, a worker's slots or an event.
 *
 * Fencing: an event counts only if its token is the HMAC of (task, attempt,
 * worker) and that attempt is the task's current one on that worker. A final
 * for a finished task is DUPLICATE when it is the accepted attempt re-sent
 * (idempotent retry), otherwise REJECTED. Rejections are counted always and
 * logged sampled (rejection-log.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { fromValue } from '../../common/json-value.js';
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import type { ResultEvent__Output } from '../../common/gen/taskwire/v1/ResultEvent.js';
import type { TaskResult__Output } from '../../common/gen/taskwire/v1/TaskResult.js';
import type { ResultOutcome } from './result-outcome.js';
import type { TaskRecord } from './task-record.js';
import type { TaskService } from './task-service.js';

export type Disposition = 'DISPOSITION_ACCEPTED' | 'DISPOSITION_DUPLICATE' | 'DISPOSITION_REJECTED';
export interface EventOutcome {
  disposition: Disposition;
  reason: string;
}

type Ident = { task_id: string; attempt: number; worker_id: string; result_token: string };

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ACCEPTED: EventOutcome = { disposition: 'DISPOSITION_ACCEPTED', reason: '' };

/** Failure codes a worker reports that another attempt may fix, whatever `retryable` says. */
const MASTER_RETRYABLE = new Set(['WORKER_SHUTDOWN']);

export class ResultIntake {
  constructor(private readonly tasks: TaskService) {}

  private reject(reason: string, ev: Ident): EventOutcome {
    this.tasks.noteRejected(reason, ev);
    return { disposition: 'DISPOSITION_REJECTED', reason };
  }

  private accept(o: ResultOutcome): EventOutcome {
    this.tasks.applyResult(o);
    return ACCEPTED;
  }

  private fence(ev: Ident): { task: TaskRecord } | EventOutcome {
    const current = this.tasks.get(ev.task_id);
    // The current attempt's token is kept in memory: compare in constant time instead of recomputing the HMAC.
    const cached = current?.token !== undefined && current.attempt === ev.attempt && current.workerId === ev.worker_id ? current.token : undefined;
    const valid = cached !== undefined ? sameToken(cached, ev.result_token) : this.tasks.tokens.verify(ev.result_token, ev.task_id, ev.attempt, ev.worker_id);
    if (!valid) {
      return this.reject('invalid result token', ev);
    }
    const task = current;
    if (!task) return this.reject('unknown task', ev);
    if (task.attempt !== ev.attempt || task.workerId !== ev.worker_id) {
      return this.reject(`superseded attempt ${ev.attempt} (current ${task.attempt})`, ev);
    }
    return { task };
  }

  handleEvent(ev: ResultEvent__Output): EventOutcome {
    if (ev.event === 'final') {
      if (!ev.final) return this.reject('final event without a result', ev);
      return this.handleFinal({ ...ev.final, task_id: ev.task_id, attempt: ev.attempt, worker_id: ev.worker_id, result_token: ev.result_token });
    }
    const fenced = this.fence(ev);
    if (!('task' in fenced)) return fenced;
    const { task } = fenced;
    if (TERMINAL_STATUSES.has(task.status)) return this.reject(`task already ${task.status}`, ev);
    if (task.status === 'queued') return this.reject('attempt already ended by the master', ev);
    const workerId = ev.worker_id;
    switch (ev.event) {
      case 'started':
        return this.accept({ type: 'started', task, workerId, startedAtMs: Number(ev.started?.started_at_ms) || this.tasks.clock.now() });
      case 'chunk': {
        const seq = Number(ev.seq);
        if (seq <= task.lastSeq) {
          this.tasks.applyResult({ type: 'heartbeat', task, workerId }); // a re-sent chunk still shows the attempt is alive
          return { disposition: 'DISPOSITION_DUPLICATE', reason: 'chunk already seen' };
        }
        return this.accept({ type: 'chunk', task, workerId, seq, text: ev.chunk?.text ?? '', data: ev.chunk?.data ? fromValue(ev.chunk.data) : null });
      }
      case 'heartbeat':
        return this.accept({ type: 'heartbeat', task, workerId });
      default:
        return this.reject('event has no started, chunk, heartbeat or final', ev);
    }
  }

  handleFinal(r: TaskResult__Output): EventOutcome {
    const existing = this.tasks.get(r.task_id);
    if (existing && TERMINAL_STATUSES.has(existing.status)) {
      const same =
        existing.attempt === r.attempt &&
        existing.workerId === r.worker_id &&
        this.tasks.tokens.verify(r.result_token, r.task_id, r.attempt, r.worker_id);
      if (same) return { disposition: 'DISPOSITION_DUPLICATE', reason: `task already ${existing.status}` };
      return this.reject(`task already ${existing.status}`, r);
    }
    const fenced = this.fence(r);
    if (!('task' in fenced)) return fenced;
    const task = fenced.task;
    if (task.status === 'queued') return this.reject('attempt already ended by the master', r);
    if (r.outcome === 'TASK_OUTCOME_UNSPECIFIED') return this.reject('result has no outcome', r);
    const u = r.usage;
    const usage = u && (u.total_tokens || u.prompt_tokens || u.completion_tokens) ? { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens } : null;
    const startedAtMs = Number(r.started_at_ms) || null;
    let outcome: 'succeeded' | 'cancelled' | 'failed' = 'failed';
    let error: { code: string; message: string } | null = null;
    let retryable = false;
    if (r.outcome === 'TASK_OUTCOME_SUCCEEDED') outcome = 'succeeded';
    else if (r.outcome === 'TASK_OUTCOME_CANCELLED') {
      outcome = 'cancelled';
      error = { code: r.error?.code || 'CANCELLED', message: r.error?.message || 'cancelled' };
    } else {
      const code = r.error?.code || 'FAILED';
      retryable = Boolean(r.error?.retryable) || MASTER_RETRYABLE.has(code);
      error = { code, message: r.error?.message || 'failed' };
    }
    // One literal of one shape (no spreads: this runs once per task).
    return this.accept({
      type: 'final',
      task,
      workerId: r.worker_id,
      outcome,
      retryable,
      result: outcome === 'succeeded' && r.output ? fromValue(r.output) : null,
      error,
      startedAtMs,
      usage,
      cpuUs: Number(u?.cpu_us) || 0,
      memMibMs: Number(u?.mem_mib_ms) || 0,
    });
  }

  /** Secrets for the current attempt of a task, if the token is valid. */
  secretsFor(req: Ident): Record<string, string> | EventOutcome {
    const fenced = this.fence(req);
    if (!('task' in fenced)) return fenced;
    if (TERMINAL_STATUSES.has(fenced.task.status)) return this.reject('task already finished', req);
    return fenced.task.secrets ?? {};
  }
}
