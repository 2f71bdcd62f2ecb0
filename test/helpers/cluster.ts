/**
 * Starts a real master (embedded aedes, gRPC, HTTP + Socket.IO, all on port 0
 * on 127.0.0.1) and in-process workers, and tears everything down.
 */
import { Master, type MasterDeps } from '../../master/master.js';
import type { MasterOptions } from '../../master/config.js';
import { Worker, type WorkerDeps } from '../../worker/worker.js';
import type { WorkerOptions } from '../../worker/config.js';
import { silentLogger } from '../../common/logger.js';
import type { TaskView } from '../../common/task-view.js';

export interface TestCluster {
  master: Master;
  workers: Worker[];
  httpUrl: string;
  mqttUrl: string;
  grpcPort: number;
  addWorker(options?: WorkerOptions, deps?: WorkerDeps): Promise<Worker>;
  waitForWorkers(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface StartClusterOptions {
  workers?: number;
  workerCapacity?: number;
  master?: MasterOptions;
  masterDeps?: MasterDeps;
  worker?: WorkerOptions;
  workerDeps?: WorkerDeps;
}

let nextId = 0;
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${++nextId}-${Math.random().toString(36).slice(2, 7)}`;
}

export async function waitFor<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000, stepMs = 10): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<TestCluster> {
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, masterId: uniqueId('master'), ...opts.master },
    { logger: { logger: silentLogger() }, ...opts.masterDeps },
  );
  const workers: Worker[] = [];
  const cluster: TestCluster = {
    master,
    workers,
    httpUrl: `http://127.0.0.1:${master.httpPort}`,
    mqttUrl: master.mqttUrl,
    grpcPort: master.grpcPort,
    async addWorker(options = {}, deps = {}) {
      const w = await Worker.create(
        {
          workerId: uniqueId('worker'),
          mqttUrl: master.mqttUrl,
          mqttPassword: master.clusterToken,
          capacity: opts.workerCapacity ?? 4,
          logToStdout: false,
          healthFile: `/tmp/${uniqueId('health')}`,
          ...opts.worker,
          ...options,
        },
        { logger: { logger: silentLogger() }, ...opts.workerDeps, ...deps },
      );
      workers.push(w);
      return w;
    },
    async waitForWorkers(n, timeoutMs = 10_000) {
      await waitFor(() => master.registry.schedulable().length >= n, `${n} workers online`, timeoutMs);
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close(0)));
      await master.close();
    },
  };
  try {
    for (let i = 0; i < (opts.workers ?? 2); i++) await cluster.addWorker();
    await cluster.waitForWorkers(opts.workers ?? 2, 30_000);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/** POST /api/v1/tasks and poll until the task is final. */
export async function runTask(httpUrl: string, body: unknown, timeoutMs = 10_000): Promise<TaskView> {
  const res = await fetch(`${httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as TaskView;
  return waitForTask(httpUrl, id, timeoutMs);
}

export async function waitForTask(httpUrl: string, id: string, timeoutMs = 10_000): Promise<TaskView> {
  return waitFor(
    async () => {
      const t = (await (await fetch(`${httpUrl}/api/v1/tasks/${id}`)).json()) as TaskView;
      return ['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status) ? t : undefined;
    },
    `task ${id} to finish`,
    timeoutMs,
    5,
  );
}
