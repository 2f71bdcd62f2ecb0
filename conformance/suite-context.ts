/**
 * What every check works with: the in-process master (with its spy and
 * result recorder), the worker process under test, and helpers to submit
 * tasks, forge assignments and wait for statuses.
 */
import { randomUUID } from 'node:crypto';
import { TERMINAL_STATUSES } from '../common/task-view.js';
import type { JsonValue } from '../common/json-value.js';
import { type WorkerStatus__Output, workerStatusCodec } from '../common/wire.js';
import type { TaskRecord } from '../master/core/task-record.js';
import type { SubmitRequest } from '../master/core/task-service.js';
import type { MasterHost } from './master-host.js';
import type { SpyMessage } from './spy.js';
import { WorkerProcess } from './worker-process.js';

/** A check fails by throwing this (anything else thrown counts as a failure too). */
export class CheckFailure extends Error {
  readonly code = 'CHECK_FAILED';
}

export function expect(cond: unknown, detail: string): asserts cond {
  if (!cond) throw new CheckFailure(detail);
}

export interface SuiteSettings {
  workerCmd: string;
  capacity: number;
  /** Multiplies every wait (slow machines, slow runtimes). */
  timeScale: number;
  verbose: boolean;
  /** Extra environment for the worker (KEY=VALUE from --env). */
  extraEnv: Record<string, string>;
}

export interface StatusSeen {
  message: SpyMessage;
  status: WorkerStatus__Output;
}

const BASE_ENV_KEYS = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'NODE_OPTIONS', 'NODE_PATH', 'PYTHONPATH', 'VIRTUAL_ENV', 'GOPATH', 'GOCACHE'];

export class SuiteContext {
  worker: WorkerProcess | undefined;
  workerId = '';
  /** Set by the registration step once the worker announced ONLINE. */
  registered = false;
  /** started_at_ms of the registered worker (must stay the same across reconnects). */
  startedAtMs = '';
  language = '';
  /** Ids of every task the suite submitted to the master. */
  readonly submitted: string[] = [];
  private nextWorker = 0;
  private readonly runId = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;

  constructor(
    readonly host: MasterHost,
    readonly settings: SuiteSettings,
  ) {}

  ms(base: number): number {
    return Math.round(base * this.settings.timeScale);
  }

  get capacity(): number {
    return this.settings.capacity;
  }

  get topics() {
    return this.host.topics;
  }

  /** Starts a new worker process with a fresh id (the previous one, if any, is left alone). */
  startWorker(env: Record<string, string> = {}): WorkerProcess {
    this.workerId = `conformance-w${++this.nextWorker}-${this.runId}`;
    const base: Record<string, string> = {};
    for (const k of BASE_ENV_KEYS) {
      const v = process.env[k];
      if (v !== undefined) base[k] = v;
    }
    this.worker = WorkerProcess.start({
      command: this.settings.workerCmd,
      name: this.workerId,
      echo: this.settings.verbose,
      env: {
        ...base,
        TASKWIRE_MQTT_URL: this.host.mqttUrl,
        TASKWIRE_CLUSTER_TOKEN: this.host.clusterToken,
        TASKWIRE_WORKER_ID: this.workerId,
        TASKWIRE_GRPC_URL: this.host.grpcTarget,
        TASKWIRE_WORKER_CAPACITY: String(this.capacity),
        TASKWIRE_SHUTDOWN_GRACE_MS: '1000',
        ...this.settings.extraEnv,
        ...env,
      },
    });
    return this.worker;
  }

  /** Fails the check at once when the worker process is gone. */
  requireWorker(): WorkerProcess {
    const w = this.worker;
    expect(w, 'no worker process was started');
    expect(w.running, `the worker process exited (${JSON.stringify(w.exit)}); last output:\n${w.tail()}`);
    return w;
  }

  statusTopic(workerId = this.workerId): string {
    return this.topics.workerStatus(workerId);
  }

  /** The next status of the current worker (at or after `from`) that satisfies `pred`. */
  async waitForStatus(pred: (s: WorkerStatus__Output) => boolean, timeoutMs: number, from = 0, workerId = this.workerId): Promise<StatusSeen | undefined> {
    const topic = this.statusTopic(workerId);
    let found: StatusSeen | undefined;
    await this.host.spy.waitFor(
      (m) => {
        if (m.topic !== topic || m.payload.length === 0) return false;
        try {
          const status = workerStatusCodec.decode(m.payload);
          if (pred(status)) found = { message: m, status };
          return found !== undefined;
        } catch {
          return false;
        }
      },
      timeoutMs,
      from,
    );
    return found;
  }

  /**
   * The worker's first ONLINE status at or after `from`; gives up early (after
   * a short grace for messages in flight) when the worker process exits.
   */
  async waitForOnline(from: number, timeoutMs: number): Promise<StatusSeen | undefined> {
    const w = this.worker;
    const exited = w ? w.exited.then(() => sleep(500)).then(() => undefined) : new Promise<undefined>(() => undefined);
    return Promise.race([this.waitForStatus((s) => s.state === 'WORKER_STATE_ONLINE', timeoutMs, from), exited]);
  }

  submit(kind: string, input: JsonValue, extra: Partial<SubmitRequest> = {}): TaskRecord {
    const task = this.host.master.tasks.admit({ kind, input, ...extra }).task;
    this.submitted.push(task.id);
    return task;
  }

  /** Cancels what a step left unfinished, so it does not occupy the worker in later steps. */
  cancelLeftovers(): void {
    for (const id of this.submitted.splice(0)) {
      const t = this.task(id);
      if (t && !TERMINAL_STATUSES.has(t.status)) this.host.master.tasks.cancel(id, 'conformance: left over by an earlier step');
    }
  }

  task(id: string): TaskRecord | undefined {
    return this.host.master.tasks.get(id);
  }

  /** Polls until the task is finished; undefined on timeout. */
  async waitForTask(id: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const t = this.task(id);
      if (t && TERMINAL_STATUSES.has(t.status)) return t;
      if (Date.now() > until) return undefined;
      if (this.worker && !this.worker.running) await sleep(20);
      await sleep(10);
    }
  }

  /** A finished task or a failure that says where it stuck. */
  async finished(id: string, timeoutMs: number, what: string): Promise<TaskRecord> {
    const t = await this.waitForTask(id, timeoutMs);
    const now = this.task(id);
    expect(t, `${what}: task still ${now?.status ?? 'unknown'} (attempt ${now?.attempt ?? '?'}) after ${timeoutMs} ms${this.exitNote()}`);
    return t;
  }

  exitNote(): string {
    const w = this.worker;
    return w && !w.running ? `; the worker process exited (${JSON.stringify(w.exit)}):\n${w.tail()}` : '';
  }

  /** A task id the master never issued. */
  forgedId(label: string): string {
    return `forged-${label}-${randomUUID()}`;
  }

  /** An assignment the master did not issue (its token is not valid on the master). */
  forged(kind: string, input: JsonValue, label: string, attempt = 1): Record<string, JsonValue> {
    return {
      task_id: this.forgedId(label),
      attempt,
      kind,
      input,
      result_token: `forged-token-${randomUUID()}`,
      deadline_ms: String(Date.now() + 120_000),
      enqueued_at_ms: String(Date.now()),
      heartbeat_interval_ms: 1000,
    };
  }

  async publishTasks(payload: string | Buffer | Record<string, JsonValue>[]): Promise<void> {
    const body = Array.isArray(payload) ? JSON.stringify({ tasks: payload, master_id: this.host.masterId }) : payload;
    await this.host.spy.publish(this.topics.workerTasks(this.workerId), body);
  }

  async publishControl(payload: string | Record<string, JsonValue>): Promise<void> {
    await this.host.spy.publish(this.topics.workerControl(this.workerId), typeof payload === 'string' ? payload : JSON.stringify(payload));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
