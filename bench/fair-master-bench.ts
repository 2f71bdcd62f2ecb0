/**
 * `npm run bench -- fair-master`: weighted-fair dispatch on a real master
 * (embedded broker, gRPC, two in-process workers of capacity 16 running echo).
 * Tenant "small" submits a burst of 8 echo tasks every 50 ms for a few
 * seconds; its queue waits (the final events' queue_wait_ms) are measured
 * alone, then with tenant "big"'s 100,000 echo tasks queued first, with
 * TASKWIRE_FAIR_SHARE off (FIFO) and on.
 */
import { Master } from '../master/master.js';
import { Worker } from '../worker/worker.js';
import { silentLogger } from '../common/logger.js';
import { fmt, percentile } from './stats.js';

export interface FairMasterCase {
  name: string;
  small_tasks: number;
  small_p50_ms: number;
  small_p95_ms: number;
  /** Big's tasks left in the queue when small's last task started. */
  backlog_left: number;
}

async function runCase(name: string, backlog: number, fairShare: string, burstsOf: number): Promise<FairMasterCase> {
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', masterId: `fair-bench-${process.pid}`, fairShare, maxFinishedTasks: 200_000 },
    { logger: { logger: silentLogger() } },
  );
  const workers: Worker[] = [];
  try {
    const waits = new Map<string, number>();
    master.tasks.events.on('task.succeeded', (e) => {
      if (e.queue_wait_ms !== null) waits.set(e.task_id, e.queue_wait_ms);
    });
    for (let i = 0; i < backlog; i += 2000) {
      await master.tasks.submitMany(Array.from({ length: Math.min(2000, backlog - i) }, (_, j) => ({ kind: 'echo', input: { text: `b${i + j}` }, tenant: 'big', owner: 'big' })));
    }
    for (let i = 0; i < 2; i++) {
      const id = `fair-bench-w${i}-${process.pid}`;
      workers.push(
        await Worker.create({ workerId: id, mqttUrl: master.mqttUrl, mqttPassword: master.clusterToken, capacity: 16, logToStdout: false, healthFile: `/tmp/${id}.health` }, { logger: { logger: silentLogger() } }),
      );
    }
    const small: string[] = [];
    let backlogLeft = 0;
    for (let b = 0; b < burstsOf; b++) {
      for (let i = 0; i < 8; i++) small.push((await master.tasks.submit({ kind: 'echo', input: { text: `s${b}-${i}` }, tenant: 'small', owner: 'small' })).task.id);
      await new Promise((r) => setTimeout(r, 50));
    }
    const until = Date.now() + 300_000;
    while (!small.every((id) => waits.has(id))) {
      if (Date.now() > until) throw new Error('fair bench: small tasks did not finish');
      await new Promise((r) => setTimeout(r, 20));
    }
    backlogLeft = master.tasks.queue.size;
    const s = small.map((id) => waits.get(id)!).sort((a, c) => a - c);
    return { name, small_tasks: s.length, small_p50_ms: percentile(s, 50), small_p95_ms: percentile(s, 95), backlog_left: backlogLeft };
  } finally {
    await Promise.allSettled(workers.map((w) => w.close(0)));
    await master.close();
  }
}

export async function runFairMasterBench({ quick = false } = {}): Promise<FairMasterCase[]> {
  const backlog = quick ? 20_000 : 100_000;
  const bursts = quick ? 20 : 60;
  return [
    await runCase('small alone', 0, 'off', bursts),
    await runCase(`with ${backlog} backlog, FIFO`, backlog, 'off', bursts),
    await runCase(`with ${backlog} backlog, fair`, backlog, 'on', bursts),
  ];
}

export function printFairMasterBench(cases: FairMasterCase[]): void {
  console.log('\nfair sharing on a real master (2 workers x 16 slots, echo): tenant small, 8 tasks every 50 ms');
  console.log('case                               tasks   p50 ms   p95 ms   big left');
  for (const c of cases) console.log(`${c.name.padEnd(34)} ${String(c.small_tasks).padStart(6)} ${fmt(c.small_p50_ms, 1).padStart(8)} ${fmt(c.small_p95_ms, 1).padStart(8)} ${String(c.backlog_left).padStart(10)}`);
  const alone = cases[0]!.small_p95_ms;
  console.log(`small's p95 vs alone (${fmt(alone, 1)} ms): FIFO ${fmt(cases[1]!.small_p95_ms / Math.max(alone, 1e-9), 1)}x, fair ${fmt(cases[2]!.small_p95_ms / Math.max(alone, 1e-9), 1)}x`);
}
