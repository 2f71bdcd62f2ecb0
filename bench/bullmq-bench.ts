/**
 * The peer side of the benchmark: BullMQ + Redis doing the same jobs as
 * taskwire, run by core-bench.ts and backlog-bench.ts alternating with the
 * taskwire runs (A B A B ...), so the machine's noise hits both alike.
 *
 * - Redis: a `redis-server` this module starts on 127.0.0.1 on a free port in a
 *   temp dir and kills at the end; `memory` = `--save '' --appendonly no`,
 *   `aof` (durable, against taskwire's SQLite store) = `--appendonly yes
 *   --appendfsync everysec`. Never a system service.
 * - Workers: separate processes (bullmq-worker.ts), one BullMQ `Worker` each
 *   with the concurrency of a taskwire worker's capacity, a no-op processor.
 * - Submit -> result: `queue.add` from this process, the result seen through
 *   `QueueEvents` 'completed' (the peer of taskwire's final task event).
 *
 * Skipped (saying why) when `redis-server` is not on PATH or
 * TASKWIRE_BENCH_PEER=0; the BullMQ packages are dev dependencies, loaded
 * only when the peer runs.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queue, QueueEvents } from 'bullmq';
import { percentile } from './stats.js';

export type RedisMode = 'memory' | 'aof';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The worker script next to this module in dist/, or the built one when this runs from the sources (a test). */
const WORKER_SCRIPT = existsSync(join(HERE, 'bullmq-worker.js')) ? join(HERE, 'bullmq-worker.js') : join(HERE, '..', 'dist', 'bench', 'bullmq-worker.js');
/** Finished jobs kept, as the bench's taskwire masters keep 10,000 finished tasks. */
const KEEP_COMPLETED = 10_000;

/** Why the peer does not run, or undefined when it does. */
export function peerSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TASKWIRE_BENCH_PEER === '0') return 'skipped: TASKWIRE_BENCH_PEER=0';
  if (spawnSync('/bin/sh', ['-c', 'command -v redis-server'], { stdio: 'ignore', env }).status !== 0) return 'skipped: redis-server not installed';
  return undefined;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); 0 elsewhere or once it is gone. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ 100
  } catch {
    return 0;
  }
}

/** Resident set size of a process in MiB, from /proc (Linux); NaN elsewhere. */
export function processRssMiB(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A private redis-server on 127.0.0.1 in a temp dir. */
export class RedisServer {
  private constructor(
    readonly mode: RedisMode,
    readonly port: number,
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {}

  get pid(): number | undefined {
    return this.proc.pid;
  }

  static async start(mode: RedisMode): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'tw-bench-redis-'));
    const port = await freePort();
    const persistence = mode === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const server = new RedisServer(mode, port, proc, dir);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} did not start in 10 s`)), 10_000);
        proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
        proc.once('error', reject);
        // --loglevel warning still prints nothing on a good start: poll the port with PING.
        const ping = async () => {
          const { Redis } = await import('ioredis');
          while (proc.exitCode === null) {
            const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
            c.on('error', () => {});
            try {
              await c.connect();
              if ((await c.ping()) === 'PONG') {
                clearTimeout(timer);
                resolve();
                return;
              }
            } catch {
              await new Promise((r) => setTimeout(r, 50));
            } finally {
              c.disconnect();
            }
          }
        };
        void ping();
      });
    } catch (err) {
      await server.close();
      throw err;
    }
    proc.stdout?.resume();
    return server;
  }

  rssMiB(): number {
    return processRssMiB(this.proc.pid);
  }

  cpuSeconds(): number {
    return processCpuSeconds(this.proc.pid);
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await once(this.proc, 'exit');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Worker processes, each printing `ready` once its BullMQ Worker is connected. */
export async function spawnBullWorkers(port: number, queueName: string, count: number, concurrency: number): Promise<ChildProcess[]> {
  const workers: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    workers.push(spawn(process.execPath, [WORKER_SCRIPT, String(port), queueName, String(concurrency)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  }
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('a BullMQ worker did not get ready in 20 s')), 20_000);
          let out = '';
          w.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('ready\n')) {
              clearTimeout(timer);
              resolve();
            }
          });
          w.once('exit', (code) => reject(new Error(`a BullMQ worker exited with ${code}`)));
        }),
    ),
  );
  return workers;
}

export async function stopProcesses(procs: ChildProcess[]): Promise<void> {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? once(p, 'exit') : undefined)));
}

/** Jobs the bench process adds and sees finish (the peer of a taskwire master's in-process submit). */
export interface BullEnv {
  mode: RedisMode;
  redis: RedisServer;
  queue: Queue;
  events: QueueEvents;
  workers: ChildProcess[];
  /** CPU seconds of Redis and of the worker processes so far. */
  cpu(): { redis: number; workers: number };
  close(): Promise<void>;
}

async function openQueue(redis: RedisServer, queueName: string): Promise<{ queue: Queue; events: QueueEvents }> {
  const { Queue, QueueEvents } = await import('bullmq');
  const connection = { host: '127.0.0.1', port: redis.port };
  // The events stream holds ~4 events per job; with 4,096 jobs outstanding the default
  // trim (10,000) could drop events the observer has not read yet on a busy machine.
  const queue = new Queue(queueName, { connection, streams: { events: { maxLen: 100_000 } }, defaultJobOptions: { removeOnComplete: KEEP_COMPLETED } });
  const events = new QueueEvents(queueName, { connection });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  return { queue, events };
}

export async function startBullEnv(workerCount: number, concurrency: number, mode: RedisMode): Promise<BullEnv> {
  const redis = await RedisServer.start(mode);
  const queueName = `bench-${process.pid}-${workerCount}`;
  let workers: ChildProcess[] = [];
  try {
    const { queue, events } = await openQueue(redis, queueName);
    workers = await spawnBullWorkers(redis.port, queueName, workerCount, concurrency);
    return {
      mode,
      redis,
      queue,
      events,
      workers,
      cpu: () => ({ redis: redis.cpuSeconds(), workers: workers.reduce((s, w) => s + processCpuSeconds(w.pid), 0) }),
      async close() {
        await stopProcesses(workers);
        await events.close();
        await queue.close();
        await redis.close();
      },
    };
  } catch (err) {
    await stopProcesses(workers);
    await redis.close();
    throw err;
  }
}

/** Calls `onDone(jobId, ok)` for every job that completes or fails from now on; returns the unsubscribe. */
function onFinished(events: QueueEvents, onDone: (jobId: string, ok: boolean) => void): () => void {
  const completed = ({ jobId }: { jobId: string }) => onDone(jobId, true);
  const failed = ({ jobId }: { jobId: string }) => onDone(jobId, false);
  events.on('completed', completed);
  events.on('failed', failed);
  return () => {
    events.off('completed', completed);
    events.off('failed', failed);
  };
}

/** Keeps `window` jobs outstanding (at most 64 adds in flight, as core-bench's submitter) until `total` finish; returns jobs/s. */
export async function bullThroughput(env: BullEnv, total: number, window: number): Promise<number> {
  let submitted = 0;
  let completed = 0;
  let failed = 0;
  let inFlight = 0;
  let addError: unknown;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const pump = () => {
    while (submitted < total && submitted - completed < window && inFlight < 64) {
      const i = submitted++;
      inFlight++;
      env.queue.add('echo', { text: `t${i}` }).then(
        () => {
          inFlight--;
          pump();
        },
        (err: unknown) => {
          addError = err;
          resolveDone();
        },
      );
    }
  };
  const off = onFinished(env.events, (_id, ok) => {
    completed++;
    if (!ok) failed++;
    if (completed === total) resolveDone();
    else pump();
  });
  const t0 = performance.now();
  pump();
  await done;
  const secs = (performance.now() - t0) / 1000;
  off();
  if (addError) throw addError;
  if (failed > 0) throw new Error(`${failed} BullMQ jobs failed`);
  return total / secs;
}

/** Adds jobs at a steady rate; returns add -> 'completed' latencies (ms). */
export async function bullLatencyAtRate(env: BullEnv, rate: number, seconds: number): Promise<number[]> {
  const total = rate * seconds;
  const started = new Map<string, number>();
  const early = new Map<string, number>();
  const lat: number[] = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const off = onFinished(env.events, (id) => {
    const now = performance.now();
    const s = started.get(id);
    if (s === undefined) early.set(id, now);
    else {
      started.delete(id);
      lat.push(now - s);
      if (lat.length === total) resolveDone();
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const s = performance.now();
    void env.queue.add('echo', { text: `t${i}` }).then((job) => {
      const id = job.id!;
      const e = early.get(id);
      if (e === undefined) started.set(id, s);
      else {
        early.delete(id);
        lat.push(e - s);
        if (lat.length === total) resolveDone();
      }
    });
  }
  await done;
  off();
  return lat;
}

export interface BullBacklogResult {
  mode: RedisMode;
  jobs: number;
  fill_s: number;
  redis_rss_mib: number;
  /** `INFO memory` used_memory_rss. */
  redis_used_memory_rss_mib: number;
  get_jobs_p50_ms: number;
  get_jobs_p95_ms: number;
  workers: number;
  drain_jobs_per_s: number;
  /** CPU of Redis + workers + this process per drained job. */
  drain_cpu_us_per_job: number;
  redis_rss_after_drain_mib: number;
}

/**
 * 1M backlog: `addBulk` in chunks of 1,000 with no worker running, Redis RSS,
 * `getJobs(['waiting'], 0, 49)` 50 times, then `workers` worker processes
 * drain it (timed from their start to an empty queue).
 */
export async function bullBacklog(jobs: number, workerCount: number, concurrency: number, mode: RedisMode): Promise<BullBacklogResult> {
  const redis = await RedisServer.start(mode);
  const queueName = `backlog-${process.pid}`;
  let workers: ChildProcess[] = [];
  const { queue, events } = await openQueue(redis, queueName);
  try {
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += 1000) {
      const n = Math.min(1000, jobs - i);
      await queue.addBulk(Array.from({ length: n }, (_, j) => ({ name: 'echo', data: { text: `task ${i + j}` } })));
    }
    const fill_s = (performance.now() - t0) / 1000;
    const waiting = await queue.getWaitingCount();
    if (waiting !== jobs) throw new Error(`${waiting} jobs waiting after adding ${jobs}`);
    const { Redis } = await import('ioredis');
    const admin = new Redis({ host: '127.0.0.1', port: redis.port });
    const info = await admin.info('memory').finally(() => admin.disconnect());
    const usedRss = Number(/used_memory_rss:(\d+)/.exec(info)?.[1] ?? NaN) / 1048576;
    const rss = redis.rssMiB();
    const ms: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      const page = await queue.getJobs(['waiting'], 0, 49);
      ms.push(performance.now() - s);
      if (page.length !== 50) throw new Error(`getJobs gave ${page.length} jobs`);
    }
    ms.sort((a, b) => a - b);
    const cpu0 = process.cpuUsage();
    const redisCpu0 = redis.cpuSeconds();
    const d0 = performance.now();
    workers = await spawnBullWorkers(redis.port, queueName, workerCount, concurrency);
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const c = await queue.getJobCounts('waiting', 'active', 'prioritized');
      if ((c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) === 0) break;
    }
    const drainSecs = (performance.now() - d0) / 1000;
    const workerCpu = workers.reduce((s, w) => s + processCpuSeconds(w.pid), 0);
    const cpu = process.cpuUsage(cpu0);
    const cpuSecs = (cpu.user + cpu.system) / 1e6 + (redis.cpuSeconds() - redisCpu0) + workerCpu;
    return {
      mode,
      jobs,
      fill_s,
      redis_rss_mib: Math.round(rss),
      redis_used_memory_rss_mib: Math.round(usedRss),
      get_jobs_p50_ms: percentile(ms, 50),
      get_jobs_p95_ms: percentile(ms, 95),
      workers: workerCount,
      drain_jobs_per_s: Math.round(jobs / drainSecs),
      drain_cpu_us_per_job: Math.round((cpuSecs / jobs) * 1e6 * 10) / 10,
      redis_rss_after_drain_mib: Math.round(redis.rssMiB()),
    };
  } finally {
    await stopProcesses(workers);
    await events.close();
    await queue.close();
    await redis.close();
  }
}
