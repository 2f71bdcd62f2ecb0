/**
 * Several masters (TASKWIRE_MASTERS=multi) on one PostgreSQL, which is
 * restarted mid-run (issue 19): while it is down every master answers submits
 * with a clear 503 and /healthz 503 (nothing acknowledged that the database did
 * not take); when it is back they reconnect on their own (store writer, claim
 * listener, leases) without exiting, take submits again, and every task that
 * was accepted on any master succeeds, with one final row. Real processes: two master
 * processes, two worker processes, a real Mosquitto and a real PostgreSQL.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { assertCliBuilt } from '../helpers/processes.js';
import { faultFixture, FAST_LEASES, type MasterProcess, sleep, spawnWorker, startMasterProcess, until, workerReady } from '../fault/fault-cluster.js';

const available = postgresAvailable() && mosquittoAvailable();
/** Longer than the outage: the masters keep their membership across it. */
const LEASE_MS = 20_000;

const query = queryRows;

describe.skipIf(!available)(`several masters, PostgreSQL restarted${available ? '' : ` (skipped: ${postgresMissingReason()} or no mosquitto)`}`, () => {
  let server: Postgres;
  let broker: Mosquitto;
  beforeAll(async () => {
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
  }, 60_000);
  afterAll(async () => undefined);
  const { group, tmp } = faultFixture('taskwire-mm-pg-restart-', { after: async () => void (await Promise.all([server?.close(), broker?.close()])) });

  it('submits during the outage get 503 on every master, the masters reconnect by themselves, 0 accepted tasks lost, one final each', async () => {
    assertCliBuilt();
    const url = await server.createDatabase();
    const root = 'mmr/v1';
    const start = (id: string): Promise<MasterProcess> =>
      startMasterProcess(group, {
        name: id,
        dataDir: join(tmp.dir, id),
        mqttUrl: broker.url,
        startTimeoutMs: 60_000,
        env: { ...FAST_LEASES, TASKWIRE_STORE: url, TASKWIRE_MASTERS: 'multi', TASKWIRE_MASTER_ID: id, TASKWIRE_MASTER_LEASE_MS: String(LEASE_MS), TASKWIRE_TOPIC_ROOT: root },
      });
    const masters = [await start('mr-a'), await start('mr-b')];
    const workers = ['mrw-0', 'mrw-1'].map((id) => spawnWorker(group, { id, mqttUrl: broker.url, capacity: 4, dir: tmp.dir, env: { TASKWIRE_TOPIC_ROOT: root } }));
    await Promise.all(workers.map((w) => workerReady(w, 60_000)));
    await until(async () => (await query(url, `SELECT 1 FROM taskwire_masters`)).length === 2, 'both masters in the lease table', 30_000);

    const accepted = new Map<string, number>(); // id -> the master it came through
    const statuses = new Map<number, number>();
    let submitting = true;
    const submitters = masters.map(async (m, mi) => {
      for (let i = 0; submitting; i++) {
        const res = await fetch(`${m.httpUrl}/api/v1/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'sleep', input: { ms: 10 + (i % 4) * 20 } }),
          signal: AbortSignal.timeout(20_000),
        }).catch(() => undefined);
        const code = res?.status ?? 0;
        statuses.set(code, (statuses.get(code) ?? 0) + 1);
        if (res && res.status === 202) accepted.set(((await res.json()) as { id: string }).id, mi);
        else {
          await res?.body?.cancel();
          await sleep(50);
        }
      }
    });
    const health = async (m: MasterProcess) => (await fetch(`${m.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined))?.status;

    await until(() => accepted.size >= 100, '100 accepted tasks', 60_000);
    await server.stop();
    for (const m of masters) await until(async () => (await health(m)) === 503, `${m.httpUrl} /healthz 503 while PostgreSQL is down`, 15_000);
    const refusedBefore = statuses.get(503) ?? 0;
    await sleep(1500);
    expect((statuses.get(503) ?? 0) - refusedBefore, 'submits refused with 503 during the outage').toBeGreaterThan(0);
    await server.restart();
    for (const m of masters) await until(async () => (await health(m)) === 200, `${m.httpUrl} reconnects`, 30_000);
    const n = accepted.size;
    await until(() => accepted.size >= n + 100, '100 more accepted tasks after the outage', 60_000);
    submitting = false;
    await Promise.all(submitters);

    // Only 202 and 503: no 500, no dropped connection.
    expect([...statuses.keys()].filter((c) => c !== 202 && c !== 503), JSON.stringify([...statuses])).toEqual([]);
    // Through both masters, before and after the outage.
    expect(new Set(accepted.values()).size).toBe(2);
    await until(
      async () => (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM tasks WHERE id = ANY($1) AND finished_at IS NOT NULL`, [[...accepted.keys()]]))[0]!.n === accepted.size,
      'every accepted task final in the database',
      120_000,
      250,
    ).catch(async (err: Error) => {
      const summary = await query(url, `SELECT owner, status, count(*)::int AS n FROM tasks GROUP BY 1, 2 ORDER BY 1, 2`);
      const open = await query<{ id: string; owner: string; status: string; attempt: number; worker_id: string | null }>(url, `SELECT id, owner, status, attempt, worker_id FROM tasks WHERE id = ANY($1) AND finished_at IS NULL LIMIT 5`, [[...accepted.keys()]]);
      const views = await Promise.all(open.flatMap((r) => masters.map(async (m) => `${m.httpUrl}: ${await fetch(`${m.httpUrl}/api/v1/tasks/${r.id}`).then((x) => x.text()).catch((e: Error) => e.message)}`)));
      const notable = masters.map((m) => m.proc.output().split('\n').filter((l) => /refused|returned|went back|lost|re-queued|no longer|failed to|error/i.test(l) && !/claiming pooled tasks failed|ECONNREFUSED/.test(l)).slice(-20).join('\n'));
      throw new Error(`${err.message}\n${JSON.stringify(summary)}\nopen: ${JSON.stringify(open)}\n${views.join('\n')}\n${notable.join('\n----\n')}\n${masters.map((m) => m.proc.output().slice(-1500)).join('\n----\n')}`);
    });
    const final = await query<{ id: string; status: string }>(url, `SELECT id, status FROM tasks WHERE id = ANY($1)`, [[...accepted.keys()]]);
    expect(final.length).toBe(accepted.size); // one row each
    expect(final.filter((r) => r.status !== 'succeeded').map((r) => `${r.id}:${r.status}`)).toEqual([]);
    // Neither master gave up its membership (exit 75) or stopped.
    for (const m of masters) {
      expect(m.proc.running, m.proc.output().slice(-3000)).toBe(true);
      expect(m.proc.matching(/no longer a member of the cluster/)).toEqual([]);
    }
    const attempts = await query<{ attempt: number; n: number }>(url, `SELECT attempt, count(*)::int AS n FROM tasks WHERE id = ANY($1) GROUP BY 1 ORDER BY 1`, [[...accepted.keys()]]);
    console.log(`PostgreSQL restart with 2 masters: ${accepted.size} accepted (${n} before the restart), statuses ${JSON.stringify([...statuses])}, attempts ${JSON.stringify(attempts)}`);
  }, 300_000);
});
