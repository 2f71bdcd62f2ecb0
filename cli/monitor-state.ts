/**
 * What `taskwire monitor` shows, folded from the event stream (task finals,
 * retries, worker changes) and the polled cluster and worker views: counts,
 * throughput per second over the last minute, p95 run time of the last 500
 * finished attempts, queue depth history, recent failures. Pure: no I/O.
 */
export interface MonitorEvent {
  type: string;
  ts: number;
  task_id?: string;
  kind?: string;
  worker_id?: string | null;
  run_ms?: number | null;
  error?: { code?: string; message?: string } | null;
}

export interface MonitorWorker {
  id: string;
  state: string;
  running: number;
  capacity: number;
  tasks_succeeded?: number;
  tasks_failed?: number;
  run_ms_p95?: number | null;
  kinds: string[];
}

export interface MonitorCluster {
  queued: number;
  running: number;
  capacity: number;
  workers: { online: number; busy: number; draining: number; offline: number };
}

export interface Failure {
  ts: number;
  type: string;
  taskId: string;
  kind: string;
  error: string;
}

const SECONDS = 60;
const RUN_SAMPLES = 500;
const FAILURES = 5;

export class MonitorState {
  succeeded = 0;
  failed = 0;
  retried = 0;
  queuedEvents = 0;
  lastEventId = 0;
  connected = false;
  cluster: MonitorCluster | undefined;
  workers: MonitorWorker[] = [];
  readonly failures: Failure[] = [];
  /** Finished tasks per second, index = second since the epoch % SECONDS. */
  private readonly perSecond = new Array<number>(SECONDS).fill(0);
  private readonly secondOf = new Array<number>(SECONDS).fill(-1);
  private readonly runMs: number[] = [];
  /** Queue depth samples, newest last. */
  readonly queueDepth: number[] = [];

  apply(e: MonitorEvent, id?: number): void {
    if (id !== undefined) this.lastEventId = id;
    switch (e.type) {
      case 'task.queued':
        this.queuedEvents++;
        return;
      case 'task.retried':
        this.retried++;
        return;
      case 'task.succeeded':
        this.succeeded++;
        break;
      case 'task.failed':
      case 'task.expired':
      case 'task.cancelled':
        this.failed++;
        if (e.type !== 'task.cancelled') {
          this.failures.unshift({ ts: e.ts, type: e.type, taskId: e.task_id ?? '?', kind: e.kind ?? '?', error: e.error ? `${e.error.code ?? ''}: ${e.error.message ?? ''}` : '' });
          this.failures.length = Math.min(this.failures.length, FAILURES);
        }
        break;
      default:
        return;
    }
    const sec = Math.floor(e.ts / 1000);
    const i = sec % SECONDS;
    if (this.secondOf[i] !== sec) (this.secondOf[i] = sec), (this.perSecond[i] = 0);
    this.perSecond[i]!++;
    if (typeof e.run_ms === 'number') {
      this.runMs.push(e.run_ms);
      if (this.runMs.length > RUN_SAMPLES) this.runMs.shift();
    }
  }

  setCluster(c: MonitorCluster): void {
    this.cluster = c;
    this.queueDepth.push(c.queued);
    if (this.queueDepth.length > SECONDS) this.queueDepth.shift();
  }

  /** Finished tasks per second for each of the last `n` whole seconds before `nowMs`, oldest first. */
  throughput(nowMs: number, n = SECONDS): number[] {
    const now = Math.floor(nowMs / 1000);
    const out: number[] = [];
    for (let s = now - n; s < now; s++) {
      const i = ((s % SECONDS) + SECONDS) % SECONDS;
      out.push(this.secondOf[i] === s ? this.perSecond[i]! : 0);
    }
    return out;
  }

  p95RunMs(): number | undefined {
    if (this.runMs.length === 0) return undefined;
    const sorted = [...this.runMs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
  }
}
