/**
 * Everything a worker reports over gRPC, as the master's ResultIntake sees it:
 * each ResultEvent (StreamResults) and each SubmitResult, with the master's
 * answer and the arrival time. Installed by wrapping the intake's two entry
 * points on the instance; the master's behaviour is unchanged.
 */
import type { ResultEvent__Output } from '../common/gen/taskwire/v1/ResultEvent.js';
import type { TaskResult__Output } from '../common/gen/taskwire/v1/TaskResult.js';
import type { EventOutcome, ResultIntake } from '../master/core/result-intake.js';

export type RecordedKind = 'started' | 'chunk' | 'heartbeat' | 'final';

export interface Recorded {
  kind: RecordedKind;
  /** 'stream' for StreamResults events, 'submit' for SubmitResult calls. */
  via: 'stream' | 'submit';
  taskId: string;
  attempt: number;
  workerId: string;
  token: string;
  /** Event seq (0 for SubmitResult). */
  seq: number;
  chunkText: string;
  final: TaskResult__Output | undefined;
  outcome: EventOutcome;
  atMs: number;
}

export class ResultRecorder {
  readonly records: Recorded[] = [];
  private readonly waiters = new Set<() => void>();

  /** Wraps `intake` so every event passes through this recorder. */
  attach(intake: ResultIntake): void {
    const handleEvent = intake.handleEvent.bind(intake);
    const handleFinal = intake.handleFinal.bind(intake);
    intake.handleEvent = (ev: ResultEvent__Output): EventOutcome => {
      // handleEvent calls handleFinal for `final` events: record those once, here.
      this.inEvent = true;
      let outcome: EventOutcome;
      try {
        outcome = handleEvent(ev);
      } finally {
        this.inEvent = false;
      }
      const kind = ev.event === 'started' || ev.event === 'chunk' || ev.event === 'heartbeat' || ev.event === 'final' ? ev.event : undefined;
      if (kind) {
        this.push({
          kind,
          via: 'stream',
          taskId: ev.task_id,
          attempt: ev.attempt,
          workerId: ev.worker_id,
          token: ev.result_token,
          seq: Number(ev.seq),
          chunkText: ev.chunk?.text ?? '',
          final: ev.final ?? undefined,
          outcome,
          atMs: Date.now(),
        });
      }
      return outcome;
    };
    intake.handleFinal = (r: TaskResult__Output): EventOutcome => {
      const outcome = handleFinal(r);
      if (!this.inEvent) {
        this.push({
          kind: 'final',
          via: 'submit',
          taskId: r.task_id,
          attempt: r.attempt,
          workerId: r.worker_id,
          token: r.result_token,
          seq: 0,
          chunkText: '',
          final: r,
          outcome,
          atMs: Date.now(),
        });
      }
      return outcome;
    };
  }

  private inEvent = false;

  private push(r: Recorded): void {
    this.records.push(r);
    for (const w of this.waiters) w();
  }

  of(taskId: string, attempt?: number): Recorded[] {
    return this.records.filter((r) => r.taskId === taskId && (attempt === undefined || r.attempt === attempt));
  }

  /** The first final of task (+ attempt), waiting up to timeoutMs. */
  async waitFor(pred: (r: Recorded) => boolean, timeoutMs: number): Promise<Recorded | undefined> {
    const seen = this.records.find(pred);
    if (seen) return seen;
    return new Promise((resolve) => {
      const check = () => {
        const r = this.records.find(pred);
        if (r) finish(r);
      };
      const finish = (r: Recorded | undefined) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(r);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      this.waiters.add(check);
    });
  }

  waitForFinal(taskId: string, timeoutMs: number, attempt?: number): Promise<Recorded | undefined> {
    return this.waitFor((r) => r.kind === 'final' && r.taskId === taskId && (attempt === undefined || r.attempt === attempt), timeoutMs);
  }

  waitForStarted(taskId: string, timeoutMs: number): Promise<Recorded | undefined> {
    return this.waitFor((r) => r.taskId === taskId && (r.kind === 'started' || r.kind === 'chunk'), timeoutMs);
  }
}
