/**
 * Multi-master benchmark (`npm run bench -- multi-master`): no-op `echo`
 * tasks end to end on PostgreSQL with a shared Mosquitto, masters and
 * workers as real processes (dist/cli/taskwire.js), side by side:
 *
 * - one master on SQLite (the zero-set-up default), for comparison;
 * - one master, single mode (the memory cache and write-behind of one master);
 * - one master, TASKWIRE_MASTERS=multi (what the claims and fencing cost);
 * - two masters, TASKWIRE_MASTERS=multi, submits split over both.
 *
 * Each run submits N tasks in REST batches of 100 (a few requests in flight
 * per master) and counts until every row is final in the database: tasks/s
 * from the first submit to the last final. Then a steady 200 tasks/s, one
 * task per Socket.IO `task:submit` spread over one browser session per
 * master (as the chat submits): submit → `task:done` latency, the answer on
 * the session's own master whichever master's worker ran it. On a 2-core machine two masters
 * share the cores with PostgreSQL, Mosquitto and the workers: the row says
 * what the design costs here, not what two hosts would give.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { Mosquitto, mosquittoAvailable } from '../test/helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../test/helpers/postgres.js';
import { type ManagedProcess, ProcessGroup, waitForLog } from '../test/helpers/processes.js';
import { fmt, median, summarize } from './stats.js';
import { settlePostgres } from './pg-cost.js';

export interface MultiMasterBenchResult {
  skipped?: string;
  rows: {
    setup: string;
    masters: number;
    tasks: number;
    runs: number[];
    median_tasks_per_s: number;
    claimed_share?: number;
    /** Socket.IO submit → `task:done` at a steady rate (ms). */
    latency?: { rate_per_s: number; n: number; p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number };
  }[];
}

/** dist/cli/taskwire.js next to this compiled file (dist/bench). */
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'taskwire.js');

type Setup = { name: string; masters: number; mode: 'single' | 'multi'; store?: 'sqlite' };
const SETUPS: Setup[] = [
  { name: '1 master, SQLite', masters: 1, mode: 'single', store: 'sqlite' },
  { name: '1 master, single mode', masters: 1, mode: 'single' },
  { name: '1 master, multi mode', masters: 1, mode: 'multi' },
  { name: '2 masters, multi mode', masters: 2, mode: 'multi' },
];

async function finishedCount(client: pg.Client): Promise<number> {
  return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM tasks WHERE finished_at IS NOT NULL')).rows[0]!.n;
}

/** Tasks final on the masters (their `taskwire_tasks_finished_total`): the SQLite row has no shared database to count in. */
async function finishedOnMasters(httpUrls: string[]): Promise<number> {
  let n = 0;
  for (const u of httpUrls) {
    const text = await (await fetch(`${u}/metrics`)).text();
    for (const m of text.matchAll(/^taskwire_tasks_finished_total(?:\{[^}]*\})? (\S+)$/gm)) n += Number(m[1]);
  }
  return n;
}

/** One browser session (Socket.IO) on a master, once it has its session id. */
function session(httpUrl: string): Promise<Socket> {
  const s = io(httpUrl, { transports: ['websocket'], reconnection: false });
  return new Promise((resolve, reject) => {
    s.once('session', () => resolve(s));
    s.once('connect_error', reject);
  });
}

/**
 * `rate` echo tasks a second for `seconds`, task i on session i mod N, each
 * timed from its `task:submit` to its `task:done` (which may come before
 * the submit's ack). Waits for every answer.
 */
async function socketLatency(httpUrls: string[], rate: number, seconds: number): Promise<number[]> {
  const sockets = await Promise.all(httpUrls.map(session));
  const latencies: number[] = [];
  try {
    const total = rate * seconds;
    let answered = 0;
    let allDone!: () => void;
    let fail!: (e: Error) => void;
    const finished = new Promise<void>((resolve, reject) => {
      allDone = resolve;
      fail = reject;
    });
    const sentAt = new Map<string, number>();
    const doneAt = new Map<string, number>();
    const settle = (id: string) => {
      const a = sentAt.get(id);
      const b = doneAt.get(id);
      if (a === undefined || b === undefined) return;
      latencies.push(b - a);
      sentAt.delete(id);
      doneAt.delete(id);
      if (++answered === total) allDone();
    };
    for (const s of sockets) {
      s.on('task:done', (t: { id: string; status: string }) => {
        if (t.status !== 'succeeded') fail(new Error(`latency task ${t.id}: ${t.status}`));
        doneAt.set(t.id, performance.now());
        settle(t.id);
      });
    }
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const at = performance.now();
      sockets[i % sockets.length]!.emit('task:submit', { kind: 'echo', input: { text: `l${i}` } }, (ack: { ok: boolean; data?: { id: string } }) => {
        if (!ack.ok || !ack.data) return fail(new Error('latency submit refused'));
        sentAt.set(ack.data.id, at);
        settle(ack.data.id);
      });
    }
    const timer = setTimeout(() => fail(new Error(`latency: ${answered} of ${total} answered`)), 60_000);
    await finished.finally(() => clearTimeout(timer));
  } finally {
    for (const s of sockets) s.disconnect();
  }
  return latencies;
}

async function postBatches(httpUrl: string, tasks: number, concurrency: number): Promise<void> {
  const perRequest = 100;
  let next = 0;
  const requests = Math.ceil(tasks / perRequest);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next++;
        const n = Math.min(perRequest, tasks - i * perRequest);
        const body = JSON.stringify({ tasks: Array.from({ length: n }, (_, j) => ({ kind: 'echo', input: { text: `t${i}-${j}` } })) });
        for (;;) {
          const res = await fetch(`${httpUrl}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await res.body?.cancel();
          if (res.ok) break;
          if (res.status !== 429 && res.status !== 503) throw new Error(`batch submit: HTTP ${res.status}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }),
  );
}

async function runSetup(server: Postgres, broker: Mosquitto, s: Setup, tasks: number, runs: number, latencySeconds: number): Promise<MultiMasterBenchResult['rows'][number]> {
  const group = new ProcessGroup();
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-bench-mm-'));
  const url = await server.createDatabase();
  const root = `bench${Math.random().toString(36).slice(2, 8)}/v1`;
  const client = new pg.Client({ connectionString: url });
  try {
    const masters: { proc: ManagedProcess; httpUrl: string }[] = [];
    for (let i = 0; i < s.masters; i++) {
      const proc = group.spawn(`bench-master-${i}`, process.execPath, [CLI, 'master'], {
        maxLines: 2000,
        env: {
          TASKWIRE_BIND_HOST: '127.0.0.1',
          TASKWIRE_HTTP_PORT: '0',
          TASKWIRE_GRPC_PORT: '0',
          TASKWIRE_DATA_DIR: join(dir, `m${i}`),
          TASKWIRE_LOCAL_WORKERS: '0',
          TASKWIRE_MQTT_URL: broker.url,
          ...(s.store === 'sqlite' ? {} : { TASKWIRE_STORE: url }),
          TASKWIRE_MASTERS: s.mode,
          TASKWIRE_MASTER_ID: `bench-m${i}`,
          TASKWIRE_TOPIC_ROOT: root,
          TASKWIRE_MAX_UNFINISHED_BYTES: String(512 * 1024 * 1024),
        },
      });
      const rec = await waitForLog(proc, /^master running$/, 60_000);
      masters.push({ proc, httpUrl: `http://127.0.0.1:${Number(rec.http_port)}` });
    }
    for (let w = 0; w < 2; w++) {
      const p = group.spawn(`bench-worker-${w}`, process.execPath, [CLI, 'worker'], {
        env: { TASKWIRE_WORKER_ID: `bench-w${w}`, TASKWIRE_MQTT_URL: broker.url, TASKWIRE_WORKER_KINDS: 'echo', TASKWIRE_WORKER_CAPACITY: '512', TASKWIRE_TOPIC_ROOT: root },
      });
      await waitForLog(p, /^worker online$/, 60_000);
    }
    if (s.store !== 'sqlite') await client.connect();
    const httpUrls = masters.map((m) => m.httpUrl);
    const finished = () => (s.store === 'sqlite' ? finishedOnMasters(httpUrls) : finishedCount(client));
    // Every master sees both workers (its own share online).
    await new Promise((r) => setTimeout(r, 2000));
    const out: number[] = [];
    let done = 0;
    for (let r = 0; r <= runs; r++) {
      const target = done + tasks;
      const t0 = performance.now();
      await Promise.all(masters.map((m, i) => postBatches(m.httpUrl, Math.floor(tasks / masters.length) + (i === 0 ? tasks % masters.length : 0), 4)));
      while ((await finished()) < target) await new Promise((res) => setTimeout(res, 20));
      const tps = tasks / ((performance.now() - t0) / 1000);
      done = target;
      if (r > 0) out.push(tps); // run 0 warms up
    }
    // The steady rate's latency, not the throughput runs' after-work (PostgreSQL's checkpoint and autovacuum, the masters' write-behind).
    if (s.store !== 'sqlite') await settlePostgres(url);
    await new Promise((r) => setTimeout(r, 2000));
    const lat = summarize(await socketLatency(httpUrls, 200, latencySeconds));
    const latency = { rate_per_s: 200, n: lat.n, p50_ms: lat.p50, p90_ms: lat.p90, p99_ms: lat.p99, max_ms: lat.max };
    return { setup: s.name, masters: s.masters, tasks, runs: out, median_tasks_per_s: median(out), latency };
  } finally {
    if (s.store !== 'sqlite') await client.end().catch(() => undefined);
    await group.stopAll(5000);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runMultiMasterBench(opts: { quick?: boolean } = {}): Promise<MultiMasterBenchResult> {
  if (!postgresAvailable()) return { skipped: postgresMissingReason(), rows: [] };
  if (!mosquittoAvailable()) return { skipped: 'no mosquitto broker (Debian package mosquitto)', rows: [] };
  const tasks = opts.quick ? 4000 : 20_000;
  const runs = opts.quick ? 1 : 3;
  const [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
  const rows: MultiMasterBenchResult['rows'] = [];
  try {
    for (const s of SETUPS) rows.push(await runSetup(server, broker, s, tasks, runs, opts.quick ? 3 : 10));
  } finally {
    await Promise.all([server.close(), broker.close()]);
  }
  return { rows };
}

export function printMultiMasterBench(r: MultiMasterBenchResult): void {
  console.log('\n## Multi-master on PostgreSQL (no-op echo, REST batches of 100, masters and workers as processes, shared Mosquitto;');
  console.log('   latency: 200 tasks/s over Socket.IO, one session per master, submit -> task:done)');
  if (r.skipped) {
    console.log(`skipped: ${r.skipped}`);
    return;
  }
  console.log('| setup | tasks per run | runs (tasks/s) | median tasks/s | latency p50 / p90 / p99 / max ms (n) |');
  console.log('|---|---|---|---|---|');
  for (const row of r.rows) {
    const l = row.latency;
    const lat = l ? `${fmt(l.p50_ms, 2)} / ${fmt(l.p90_ms, 2)} / ${fmt(l.p99_ms, 2)} / ${fmt(l.max_ms, 1)} (${l.n})` : '-';
    console.log(`| ${row.setup} | ${row.tasks} | ${row.runs.map((x) => fmt(x, 0)).join(', ')} | ${fmt(row.median_tasks_per_s, 0)} | ${lat} |`);
  }
}
