/**
 * Results from workers (gRPC StreamResults / SubmitResult): token check,
 * attempt fencing, lease renewal, chunks, and exactly one final per task.
 *
 * Fencing: an event is applied only if its token is the HMAC of (task,
 * attempt, worker) and that attempt is the task's current one on that
 * worker. A final for a finished task is DUPLICATE when it is the accepted
 * attempt re-sent (idempotent retry), otherwise REJECTED. Rejections are
 * logged and counted.
 */
import { timingSafeEqual } from 'node:crypto';
import { fromValue } from '../../common/json-value.js';
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import type { ResultEvent__Output } from '../../common/gen/taskwire/v1/ResultEvent.js';
import type { TaskResult__Output } from '../../common/gen/taskwire/v1/TaskResult.js';
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
    const now = this.tasks.clock.now();
    this.tasks.renewLease(task, now);
    this.tasks.registry.heardFrom(ev.worker_id, now);
    switch (ev.event) {
      case 'started':
        this.tasks.markRunning(task, Number(ev.started?.started_at_ms) || now);
        return ACCEPTED;
      case 'chunk': {
        const seq = Number(ev.seq);
        if (seq <= task.lastSeq) return { disposition: 'DISPOSITION_DUPLICATE', reason: 'chunk already seen' };
        task.lastSeq = seq;
        if (task.status === 'assigned') this.tasks.markRunning(task, now);
        if (task.firstChunkAtMs === null) task.firstChunkAtMs = now;
        this.tasks.emit('chunk', task, { seq, text: ev.chunk?.text ?? '', data: ev.chunk?.data ? fromValue(ev.chunk.data) : null });
        return ACCEPTED;
      }
      case 'heartbeat':
        return ACCEPTED;
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
    const t = fenced.task;
    if (t.status === 'queued') return this.reject('attempt already ended by the master', r);
    const now = this.tasks.clock.now();
    if (r.outcome === 'TASK_OUTCOME_UNSPECIFIED') return this.reject('result has no outcome', r);
    this.tasks.registry.heardFrom(r.worker_id, now);
    if (t.startedAtMs === null) t.startedAtMs = Math.min(Number(r.started_at_ms) || now, now);
    if (r.usage && (r.usage.total_tokens || r.usage.prompt_tokens || r.usage.completion_tokens)) {
      t.usage = { prompt_tokens: r.usage.prompt_tokens, completion_tokens: r.usage.completion_tokens, total_tokens: r.usage.total_tokens };
    }
    if (t.workerId) this.tasks.registry.get(t.workerId)?.inFlight.delete(t.id);
    switch (r.outcome) {
      case 'TASK_OUTCOME_SUCCEEDED':
        this.tasks.finish(t, 'succeeded', { result: r.output ? fromValue(r.output) : null });
        break;
      case 'TASK_OUTCOME_CANCELLED':
        this.tasks.finish(t, 'cancelled', { error: { code: r.error?.code || 'CANCELLED', message: r.error?.message || 'cancelled' } });
        break;
      default: {
        const code = r.error?.code || 'FAILED';
        const message = `attempt ${t.attempt} failed: ${code}: ${r.error?.message || 'failed'}`;
        if (r.error?.retryable || MASTER_RETRYABLE.has(code)) {
          this.tasks.retryOrDeadLetter(t, code, message, 'failed');
        } else {
          this.tasks.finish(t, 'failed', { error: { code, message: r.error?.message || 'failed' } });
        }
      }
    }
    this.tasks.kick();
    return ACCEPTED;
  }

  /** Secrets for the current attempt of a task, if the token is valid. */
  secretsFor(req: Ident): Record<string, string> | EventOutcome {
    const fenced = this.fence(req);
    if (!('task' in fenced)) return fenced;
    if (TERMINAL_STATUSES.has(fenced.task.status)) return this.reject('task already finished', req);
    return fenced.task.secrets ?? {};
  }
}
