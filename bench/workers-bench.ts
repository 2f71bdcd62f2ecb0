/**
 * Many workers (`npm run bench -- scale`): the master in this process, the
 * workers simulated in one child process (sim-workers.ts: one MQTT
 * connection each, results over one gRPC channel). Two figures:
 *
 *   registration: N workers connect at once; time until the master lists all
 *                 of them (GET /api/v1/workers, as an operator sees it);
 *   dispatch:     no-op echo tasks submitted in-process, a window of
 *                 outstanding tasks twice the total slots; tasks/s with many
 *                 small workers against one worker with the same slots.
 *
 * CPU of the master's process per task is printed with the rates (the
 * machine is shared: rates move with the load, CPU per task much less).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../common/logger.js';
import { Master } from '../master/master.js';
import { throughput, inProcessSubmit } from './core-bench.js';
import { profiled } from './cpu-profile.js';
import { fmt } from './stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SIM = join(HERE, 'sim-workers.js');

export interface SimProcess {
  child: ChildProcess;
  /** ms the child took from the go signal to all workers online (its own clock). */
  readyMs: number;
  close(): Promise<void>;
}

/**
 * Starts the simulator; once it has loaded (Node's start-up and its imports,
 * a few hundred ms that 1,000 real workers on their own machines do not add
 * to registration) `onLoaded` runs and the workers start connecting.
 */
export async function startSimWorkers(master: Master, count: number, capacity: number, prefix: string, onLoaded?: () => void): Promise<SimProcess> {
  if (!existsSync(SIM)) throw new Error('dist/bench/sim-workers.js not found: run `npm run build` first');
  const child = spawn(process.execPath, [SIM], {
    env: {
      ...process.env,
      SIM_MQTT_URL: master.mqttUrl,
      SIM_GRPC_TARGET: `127.0.0.1:${master.grpcPort}`,
      SIM_CLUSTER_TOKEN: master.clusterToken ?? '',
      SIM_COUNT: String(count),
      SIM_CAPACITY: String(capacity),
      SIM_ID_PREFIX: prefix,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const readyMs = await new Promise<number>((resolve, reject) => {
    let out = '';
    let going = false;
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (!going && out.includes('loaded\n')) {
        going = true;
        onLoaded?.();
        child.stdin!.write('go\n');
      }
      const m = /ready ([\d.]+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`sim-workers exited (${code})`)));
  });
  return {
    child,
    readyMs,
    async close() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function newMaster(): Promise<Master> {
  return Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', maxFinishedTasks: 10_000 },
    { logger: { logger: silentLogger() } },
  );
}

async function listed(master: Master): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${master.httpPort}/api/v1/workers`);
  const body = (await res.json()) as { workers: { state: string }[] };
  return body.workers.filter((w) => w.state === 'online').length;
}

export interface RegistrationResult {
  workers: number;
  /** From the simulator's go (loaded, no worker connected yet) until GET /api/v1/workers lists all online. */
  listed_ms: number;
  /** The same from spawning the simulator (its start-up included: the figure before issue 21's fix). */
  listed_from_spawn_ms: number;
  /** The simulator's own time until its last worker's ONLINE status was acknowledged. */
  announced_ms: number;
  master_cpu_ms: number;
}

export async function runRegistration(count: number): Promise<RegistrationResult> {
  const master = await newMaster();
  let sim: SimProcess | undefined;
  try {
    const spawned = performance.now();
    let t0 = Infinity;
    let cpu0 = process.cpuUsage();
    const starting = startSimWorkers(master, count, 8, `reg-${process.pid}`, () => {
      t0 = performance.now();
      cpu0 = process.cpuUsage();
    });
    let listedMs = -1;
    await profiled('registration', async () => {
      while (performance.now() - spawned < 60_000) {
        if (master.registry.schedulable().length >= count && (await listed(master)) >= count) {
          listedMs = performance.now() - t0;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    sim = await starting;
    const cpu = process.cpuUsage(cpu0);
    if (listedMs < 0) throw new Error(`only ${master.registry.schedulable().length} of ${count} workers registered`);
    return { workers: count, listed_ms: listedMs, listed_from_spawn_ms: listedMs + (t0 - spawned), announced_ms: sim.readyMs, master_cpu_ms: (cpu.user + cpu.system) / 1000 };
  } finally {
    await sim?.close();
    await master.close();
  }
}

export interface DispatchRow {
  workers: number;
  capacity: number;
  tasks: number;
  tasks_per_s: number;
  master_cpu_us_per_task: number;
}

export async function runDispatch(workers: number, capacity: number, tasks: number): Promise<DispatchRow> {
  const master = await newMaster();
  const sim = await startSimWorkers(master, workers, capacity, `d-${process.pid}-${workers}`);
  try {
    while (master.registry.schedulable().length < workers) await new Promise((r) => setTimeout(r, 10));
    const submit = inProcessSubmit(master);
    const window = Math.min(20_000, workers * capacity * 2);
    await throughput(master, submit, Math.min(5000, tasks / 4), window); // warm-up
    const cpu0 = process.cpuUsage();
    const rate = await profiled(`dispatch-${workers}x${capacity}`, () => throughput(master, submit, tasks, window));
    const cpu = process.cpuUsage(cpu0);
    return { workers, capacity, tasks, tasks_per_s: rate, master_cpu_us_per_task: (cpu.user + cpu.system) / tasks };
  } finally {
    await sim.close();
    await master.close();
  }
}

export interface WorkersBenchResult {
  registration: RegistrationResult;
  dispatch: DispatchRow[];
  /** Many-worker rate / one-worker rate with the same slots. */
  ratios: { workers: number; ratio: number }[];
}

export async function runWorkersBench(o: { quick?: boolean } = {}): Promise<WorkersBenchResult> {
  const tasks = o.quick ? 40_000 : 150_000;
  const registration = await runRegistration(1000);
  const shapes: [number, number][] = [
    [1, 1600],
    [200, 8],
    [1, 2000],
    [1000, 2],
  ];
  // Alternating rounds (one-worker and many-worker runs interleaved), the best of each kept.
  const rounds = o.quick ? 1 : 2;
  const best = new Map<string, DispatchRow>();
  for (let r = 0; r < rounds; r++) {
    for (const [w, c] of r % 2 === 0 ? shapes : [...shapes].reverse()) {
      const row = await runDispatch(w, c, tasks);
      const k = `${w}x${c}`;
      const prev = best.get(k);
      if (!prev || row.tasks_per_s > prev.tasks_per_s) best.set(k, row);
    }
  }
  const dispatch = shapes.map(([w, c]) => best.get(`${w}x${c}`)!);
  const rate = (w: number, c: number) => best.get(`${w}x${c}`)!.tasks_per_s;
  return {
    registration,
    dispatch,
    ratios: [
      { workers: 200, ratio: rate(200, 8) / rate(1, 1600) },
      { workers: 1000, ratio: rate(1000, 2) / rate(1, 2000) },
    ],
  };
}

export function printWorkersBench(r: WorkersBenchResult): void {
  console.log('\nMany workers (simulated in one process, one MQTT connection each, following PROTOCOL.md)');
  const g = r.registration;
  console.log(
    `  ${g.workers} workers registering at once: all listed by GET /api/v1/workers after ${fmt(g.listed_ms)} ms ` +
      `(target <= 1000 ms; counted from the loaded simulator's go, ${fmt(g.listed_from_spawn_ms)} ms from its spawn; ` +
      `simulator's last ONLINE acked at ${fmt(g.announced_ms)} ms; master CPU ${fmt(g.master_cpu_ms)} ms)`,
  );
  console.log('  dispatch, no-op echo, in-process submit      tasks/s   master CPU us/task');
  for (const d of r.dispatch) {
    console.log(`  ${`${d.workers} worker(s) x capacity ${d.capacity}`.padEnd(44)} ${fmt(d.tasks_per_s).padStart(7)}   ${fmt(d.master_cpu_us_per_task).padStart(8)}`);
  }
  for (const x of r.ratios) console.log(`  ${x.workers} workers / 1 worker with the same slots: ${(x.ratio * 100).toFixed(0)}% (target >= 95% with 1,000 workers)`);
}
