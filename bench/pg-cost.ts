/**
 * What a run costs a local PostgreSQL (the store bench's server), from Linux
 * /proc and the server's own views: CPU of the postmaster and every process
 * under it, split by process (a client connection by its application_name,
 * a server process by its backend_type; processes that ended meanwhile, such
 * as autovacuum workers, land in "ended"), and the WAL written.
 *
 *   const probe = await PgCostProbe.start(server.pid, url);
 *   ...run...
 *   const cost = await probe.stop();   // { cpuSeconds, byProcess, walBytes }
 */
import { readdirSync, readFileSync } from 'node:fs';
import { queryRows } from '../test/helpers/postgres.js';

const CLK_TCK = 100;

type Proc = { ppid: number; own: number; children: number };

function readProcs(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime; and the children's that were reaped (cutime, cstime)
      out.set(Number(d), { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Own + reaped children's CPU seconds of `root` and every process under it, per pid. */
function treeCpu(root: number): Map<number, number> {
  const procs = readProcs();
  const byParent = new Map<number, number[]>();
  for (const [pid, p] of procs) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), pid]);
  const out = new Map<number, number>();
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const p = procs.get(pid);
    if (p) out.set(pid, p.own + p.children);
    stack.push(...(byParent.get(pid) ?? []));
  }
  return out;
}

/** User + system CPU seconds of the postmaster and every process under it (ended ones included). */
export function treeCpuSeconds(root: number): number {
  let total = 0;
  for (const s of treeCpu(root).values()) total += s;
  return total;
}

/** User + system CPU seconds of one process (0 once it is gone). */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const p = readProcs().get(pid);
  return p ? p.own + p.children : 0;
}

export interface PgCost {
  cpuSeconds: number;
  /** CPU seconds by process class, largest first. */
  byProcess: { name: string; seconds: number }[];
  walBytes: number;
}

export class PgCostProbe {
  private constructor(
    private readonly root: number,
    private readonly url: string,
    private readonly cpu0: Map<number, number>,
    private readonly lsn0: string,
  ) {}

  static async start(root: number, url: string): Promise<PgCostProbe> {
    const lsn = (await queryRows<{ lsn: string }>(url, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn;
    return new PgCostProbe(root, url, treeCpu(root), lsn);
  }

  async stop(): Promise<PgCost> {
    const cpu1 = treeCpu(this.root);
    const names = new Map<number, string>();
    for (const r of await queryRows<{ pid: number; backend_type: string; application_name: string }>(this.url, 'SELECT pid, backend_type, application_name FROM pg_stat_activity')) {
      names.set(r.pid, r.backend_type === 'client backend' ? r.application_name || 'client (no name)' : r.backend_type);
    }
    const wal = await queryRows<{ b: string }>(this.url, 'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS b', [this.lsn0]);
    const by = new Map<string, number>();
    const ended = 'postmaster, and processes that ended (autovacuum workers, closed connections)';
    let total = 0;
    for (const [pid, s1] of cpu1) {
      const d = s1 - (this.cpu0.get(pid) ?? 0);
      total += d;
      // The postmaster's own share is its reaped children's CPU: processes that ended during the run.
      const name = pid === this.root ? ended : (names.get(pid) ?? 'other');
      by.set(name, (by.get(name) ?? 0) + d);
    }
    // A process that ended meanwhile: its whole time is in the postmaster's reaped total now, its share from before the run too.
    for (const [pid, s0] of this.cpu0) {
      if (cpu1.has(pid)) continue;
      total -= s0;
      by.set(ended, (by.get(ended) ?? 0) - s0);
    }
    return {
      cpuSeconds: total,
      byProcess: [...by].map(([name, seconds]) => ({ name, seconds })).filter((x) => x.seconds > 0).sort((a, b) => b.seconds - a.seconds),
      walBytes: Number(wal[0]!.b),
    };
  }
}

/** VACUUM ANALYZE and a CHECKPOINT: what PostgreSQL does on its own after a burst of writes, done before a latency run. */
export async function settlePostgres(url: string): Promise<void> {
  await queryRows(url, 'VACUUM ANALYZE');
  await queryRows(url, 'CHECKPOINT');
}
