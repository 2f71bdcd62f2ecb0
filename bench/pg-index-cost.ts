/**
 * What each index of the PostgreSQL task table costs the write path
 * (`node dist/bench/pg-index-cost.js [rounds]`, default 2): a local server
 * (as the store bench's), then per configuration a fresh database, a
 * PostgresTaskStore on it (its own put/commit path: the writer's statements
 * as in production), optionally one index dropped, 20,000 no-op tasks
 * inserted queued in batches of 200, then each made final (the update a
 * result makes). Reports the database CPU (the store's connections, from
 * /proc) and WAL bytes per task of the inserts and of the final updates.
 * The difference to the row with every index is what that index costs.
 */
import { readFileSync } from 'node:fs';
import { initialState, type TaskRecord, transition } from '../master/core/task-record.js';
import { PostgresTaskStore } from '../master/store/postgres-task-store.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../test/helpers/postgres.js';
import { fmt, median } from './stats.js';

const TASKS = 20_000;
const BATCH = 200;
const DROPS = [
  undefined, 'tasks_search_seq', 'tasks_search_kind', 'tasks_search_worker', 'tasks_search_tenant_col', 'tasks_search_priority',
  'tasks_search_created', 'tasks_search_words', 'tasks_status_seq', 'tasks_open', 'tasks_finished',
];

/** User + system CPU seconds of one process. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

let seq = 0;
function noopTask(i: number): TaskRecord {
  const now = Date.now();
  return {
    id: `t-${process.pid}-${++seq}`, kind: 'echo', input: { text: `t${i}` }, priority: 0, requirement: { kind: 'echo' }, key: 'echo', seq, sessionId: null, stream: false,
    idempotencyKey: null, createdAtMs: now, timeoutMs: 60_000, queueTimeoutMs: 0, heartbeatTimeoutMs: 3000, maxAttempts: 3, leaseUntilMs: null, secrets: {}, tenant: 'default', owner: null,
    ...initialState(now),
  } as TaskRecord;
}

async function measure(server: Postgres, drop: string | undefined): Promise<{ insertUs: number; updateUs: number; insertWal: number; updateWal: number }> {
  const url = await server.createDatabase();
  const store = await PostgresTaskStore.open({ url, pingIntervalMs: 60_000 });
  try {
    if (drop) await queryRows(url, `DROP INDEX ${drop}`);
    const pids = (await queryRows<{ pid: number }>(url, `SELECT pid FROM pg_stat_activity WHERE application_name = 'taskwire-master'`)).map((r) => r.pid);
    const cpu = () => pids.reduce((s, p) => s + cpuSeconds(p), 0);
    const lsn = async () => (await queryRows<{ l: string }>(url, 'SELECT pg_current_wal_lsn()::text AS l'))[0]!.l;
    const walSince = async (l: string) => Number((await queryRows<{ b: string }>(url, 'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS b', [l]))[0]!.b);
    const tasks = Array.from({ length: TASKS }, (_, i) => noopTask(i));
    const phase = async (each: (t: TaskRecord) => void) => {
      const c0 = cpu();
      const l0 = await lsn();
      for (let i = 0; i < TASKS; i += BATCH) {
        for (const t of tasks.slice(i, i + BATCH)) each(t);
        await store.commit();
      }
      return { us: ((cpu() - c0) / TASKS) * 1e6, wal: (await walSince(l0)) / TASKS };
    };
    const ins = await phase((t) => store.put(t));
    const upd = await phase((t) => {
      const now = Date.now();
      t.attempt = 1;
      t.workerId = 'w-1';
      transition(t, 'assigned', now);
      t.finishedAtMs = now;
      t.result = { text: (t.input as { text: string }).text };
      transition(t, 'succeeded', now);
      store.put(t);
    });
    return { insertUs: ins.us, updateUs: upd.us, insertWal: ins.wal, updateWal: upd.wal };
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  if (!postgresAvailable()) {
    console.log(`skipped: ${postgresMissingReason()}`);
    return;
  }
  const rounds = Number(process.argv[2] ?? 2);
  const server = await Postgres.start();
  const rows = new Map<string, { ins: number[]; upd: number[]; iw: number[]; uw: number[] }>();
  try {
    for (let r = 0; r < rounds; r++) {
      for (const drop of DROPS) {
        const m = await measure(server, drop);
        const k = drop ? `without ${drop}` : 'every index';
        const e = rows.get(k) ?? { ins: [], upd: [], iw: [], uw: [] };
        e.ins.push(m.insertUs);
        e.upd.push(m.updateUs);
        e.iw.push(m.insertWal);
        e.uw.push(m.updateWal);
        rows.set(k, e);
      }
    }
  } finally {
    await server.close();
  }
  console.log(`PostgreSQL task table, ${TASKS} no-op tasks in batches of ${BATCH}, per task (runs; WAL: median)`);
  console.log('| configuration | insert CPU µs | final update CPU µs | insert WAL bytes | update WAL bytes |');
  console.log('|---|---|---|---|---|');
  for (const [k, e] of rows) {
    console.log(`| ${k} | ${e.ins.map((x) => fmt(x, 1)).join(', ')} | ${e.upd.map((x) => fmt(x, 1)).join(', ')} | ${fmt(median(e.iw), 0)} | ${fmt(median(e.uw), 0)} |`);
  }
}

await main();
