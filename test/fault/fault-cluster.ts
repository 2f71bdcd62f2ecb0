/**
 * Real-process building blocks of the fault-injection suite: a master and
 * workers as `node dist/cli/taskwire.js` processes on 127.0.0.1 (ports 0
 * unless a restart needs the same ones), REST and Socket.IO helpers, and the
 * one line of counts every fault test prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import { TERMINAL_STATUSES, type TaskView } from '../../common/task-view.js';
import { afterAll } from 'vitest';
import { type ManagedProcess, ProcessGroup, waitForHttp, waitForLog } from '../helpers/processes.js';

/** Knobs that make leases and retries fast enough for a bounded test. */
export const FAST_LEASES = {
  TASKWIRE_HEARTBEAT_INTERVAL_MS: '300',
  TASKWIRE_HEARTBEAT_TIMEOUT_MS: '1500',
  TASKWIRE_RETRY_BASE_MS: '50',
  TASKWIRE_RETRY_MAX_MS: '500',
  TASKWIRE_MAX_ATTEMPTS: '100',
} as const;

export interface MasterProcessOptions {
  name?: string;
  dataDir: string;
  /** 0 (default) = any free port; a restart passes the previous run's ports. */
  httpPort?: number;
  grpcPort?: number;
  mqttPort?: number;
  /** External broker instead of the embedded one. */
  mqttUrl?: string;
  clusterToken?: string;
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

export interface MasterProcess {
  proc: ManagedProcess;
  httpUrl: string;
  httpPort: number;
  grpcPort: number;
  mqttUrl: string;
}

export async function startMasterProcess(group: ProcessGroup, o: MasterProcessOptions): Promise<MasterProcess> {
  const proc = group.taskwire(o.name ?? 'master', ['master'], {
    maxLines: 20_000,
    env: {
      TASKWIRE_BIND_HOST: '127.0.0.1',
      TASKWIRE_HTTP_PORT: String(o.httpPort ?? 0),
      TASKWIRE_GRPC_PORT: String(o.grpcPort ?? 0),
      TASKWIRE_MQTT_PORT: String(o.mqttPort ?? 0),
      TASKWIRE_DATA_DIR: o.dataDir,
      TASKWIRE_LOCAL_WORKERS: '0',
      ...(o.mqttUrl !== undefined && { TASKWIRE_MQTT_URL: o.mqttUrl }),
      ...(o.clusterToken !== undefined && { TASKWIRE_CLUSTER_TOKEN: o.clusterToken }),
      ...o.env,
    },
  });
  const rec = await waitForLog(proc, /^master running$/, o.startTimeoutMs ?? 30_000);
  const httpPort = Number(rec.http_port);
  const grpcPort = Number(rec.grpc_port);
  const mqttUrl = String(rec.mqtt);
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  await waitForHttp(`${httpUrl}/healthz`, { process: proc, timeoutMs: 30_000 });
  return { proc, httpUrl, httpPort, grpcPort, mqttUrl };
}

export interface WorkerProcessOptions {
  id: string;
  mqttUrl: string;
  clusterToken?: string;
  capacity?: number;
  dir: string;
  env?: Record<string, string>;
}

/** A worker process (echo and sleep only). Not awaited: see workerReady(). */
export function spawnWorker(group: ProcessGroup, o: WorkerProcessOptions, name = o.id): ManagedProcess {
  return group.taskwire(name, ['worker'], {
    env: {
      TASKWIRE_WORKER_ID: o.id,
      TASKWIRE_MQTT_URL: o.mqttUrl,
      TASKWIRE_WORKER_KINDS: 'echo,sleep',
      TASKWIRE_WORKER_CAPACITY: String(o.capacity ?? 8),
      TASKWIRE_SHUTDOWN_GRACE_MS: '500',
      TASKWIRE_HEALTH_FILE: join(o.dir, `${o.id}.health`),
      ...(o.clusterToken !== undefined && { TASKWIRE_CLUSTER_TOKEN: o.clusterToken }),
      ...o.env,
    },
  });
}

/** Resolves when the worker logged that it is online and has its result service target. */
export async function workerReady(p: ManagedProcess, timeoutMs = 30_000): Promise<void> {
  await waitForLog(p, /^worker online$/, timeoutMs);
  await waitForLog(p, /^result service target set$/, timeoutMs);
}

interface WorkerJson {
  id: string;
  state: string;
  running: number;
  capacity: number;
}

export async function listWorkers(httpUrl: string): Promise<WorkerJson[]> {
  const res = await fetch(`${httpUrl}/api/v1/workers`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { workers: WorkerJson[] }).workers;
}

/** Waits until the master lists every id as online. */
export async function waitForWorkersOnline(httpUrl: string, ids: string[], timeoutMs = 30_000): Promise<void> {
  await until(
    async () => {
      const online = new Set((await listWorkers(httpUrl).catch(() => [])).filter((w) => w.state === 'online').map((w) => w.id));
      return ids.every((id) => online.has(id));
    },
    `workers ${ids.join(', ')} online at ${httpUrl}`,
    timeoutMs,
  );
}

export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number, stepMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** GET /api/v1/tasks/:id, or undefined when the master does not answer. */
export async function getTask(httpUrl: string, id: string): Promise<TaskView | undefined> {
  try {
    const res = await fetch(`${httpUrl}/api/v1/tasks/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return (await res.json()) as TaskView;
  } catch {
    return undefined;
  }
}

/** POST /api/v1/tasks; the view on 2xx (accepted), undefined otherwise (refused, no answer). */
export async function postTask(httpUrl: string, body: unknown): Promise<TaskView | undefined> {
  try {
    const res = await fetch(`${httpUrl}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel();
      return undefined;
    }
    return (await res.json()) as TaskView;
  } catch {
    return undefined;
  }
}

/** Fetches every id (a few at a time) until all are terminal or the time is up; returns the last views. */
export async function settleTasks(httpUrl: string, ids: string[], timeoutMs: number, concurrency = 16): Promise<Map<string, TaskView>> {
  const views = new Map<string, TaskView>();
  const end = Date.now() + timeoutMs;
  let open = [...ids];
  while (open.length > 0) {
    const next: string[] = [];
    let i = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (i < open.length) {
          const id = open[i++]!;
          const v = await getTask(httpUrl, id);
          if (v) views.set(id, v);
          if (!v || !TERMINAL_STATUSES.has(v.status)) next.push(id);
        }
      }),
    );
    open = next;
    if (open.length === 0 || Date.now() > end) break;
    await sleep(250);
  }
  return views;
}

export type TaskSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A browser-like Socket.IO session that counts every task:done per task id. */
export class DoneRecorder {
  readonly socket: TaskSocket;
  readonly done = new Map<string, TaskView[]>();
  connects = 0;

  constructor(httpUrl: string, sessionId: string) {
    this.socket = io(httpUrl, { auth: { sessionId }, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 1000 }) as TaskSocket;
    this.socket.on('connect', () => this.connects++);
    // Keep the id the master issued, like the browser does, so a reconnect resumes the session.
    this.socket.on('session', (info) => void ((this.socket.auth as { sessionId?: string }).sessionId = info.session_id));
    this.socket.on('task:done', (t) => {
      let list = this.done.get(t.id);
      if (!list) this.done.set(t.id, (list = []));
      list.push(t);
    });
  }

  async ready(timeoutMs = 15_000): Promise<void> {
    if (this.socket.connected) return;
    await until(() => this.socket.connected, 'socket.io connect', timeoutMs, 20);
  }

  /** Submits over the session; the accepted view, or an Error with the refusal. */
  async submit(kind: string, input: unknown): Promise<TaskView> {
    const ack = await this.socket.timeout(15_000).emitWithAck('task:submit', { kind, input: input as never });
    if (!ack.ok) throw new Error(`${ack.error.code}: ${ack.error.message}`);
    return ack.data;
  }

  close(): void {
    this.socket.disconnect();
  }
}

export interface Counts {
  submitted: number;
  succeeded: number;
  lost: number;
  duplicate_results: number;
  [extra: string]: number | string;
}

/** The one line of counts a fault test prints (and returns, for the assertion message). */
export function printCounts(test: string, counts: Counts): string {
  const line = `${test}: ${Object.entries(counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
  console.log(line);
  return line;
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The per-file fixture of a fault test: a process group and a temp dir, torn
 * down after all its tests. `before` runs first (close recorders), `after`
 * once the processes are stopped (stop a broker).
 */
export function faultFixture(
  prefix: string,
  hooks: { before?: () => void; after?: () => Promise<void> | void } = {},
): { group: ProcessGroup; tmp: { dir: string; remove: () => void } } {
  const group = new ProcessGroup();
  const tmp = tempDir(prefix);
  afterAll(async () => {
    hooks.before?.();
    await group.stopAll(3000);
    await hooks.after?.();
    tmp.remove();
  }, 30_000);
  return { group, tmp };
}

export { rng } from '../helpers/random.js';

/** Value of one Prometheus sample line (`name{labels} value`) summed over its label sets. */
export async function metricValue(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}
