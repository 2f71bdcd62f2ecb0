/**
 * Multi-master rehearsal: the three merged stack files as local processes. The
 * master's environment is the one `docker stack config -c stack.yml -c
 * stack.postgres.yml -c stack.multi-master.yml` gives it, with Swarm's task
 * templates expanded per replica (slot 1 and 2, a task id each); a real
 * Mosquitto with the shipped config, ACLs and generated password files; a real
 * PostgreSQL with the `taskwire` role and database the postgres service makes;
 * two replicas of the worker service. Service and host names map to 127.0.0.1,
 * each replica gets its own HTTP and gRPC ports (in Swarm each container has
 * 8080 and 50051), both replicas share one /data (two replicas on one node).
 * First one master from stack.yml + stack.postgres.yml takes 10 tasks while no
 * worker runs and stops (the move of DEPLOYMENT.md §12). Then: verify.sh
 * --no-docker passes against each master (one worker in its
 * share); tasks submitted
 * through either master all succeed and are read through the other; the shared
 * data dir holds no SQLite file.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Postgres, postgresAvailable } from '../helpers/postgres.js';
import { CLI, cliBuilt, dockerfileRuntimeEnv } from './code-facts.js';
import { Rehearsal, freePort, portOpen, waitFor } from './rehearsal-env.js';
import { REPO_ROOT, STACK_FILE, loadStack, parseMosquittoConf, type Stack } from './stack-model.js';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => existsSync(p));
const hasDocker = spawnSync('docker', ['--version']).status === 0;
const available = !!MOSQUITTO && hasDocker && postgresAvailable();
const TASKS = [
  { slot: 1, id: 'x3ti0erg11rjpg64m75kej2mz' },
  { slot: 2, id: 'wo41w8hg8qanxwjwsg4kxpprj' },
];

interface Proc {
  name: string;
  child: ChildProcess;
  env: Record<string, string>;
  output(): string;
  exit: Promise<number | null>;
}

function start(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => chunks.push(b));
  child.stderr!.on('data', (b: Buffer) => chunks.push(b));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, env, exit, output: () => Buffer.concat(chunks).toString('utf8') };
}

async function stop(p: Proc | undefined, graceMs: number): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exit;
  clearTimeout(timer);
}

/** Swarm's expansion of the task templates in one value. */
const expand = (v: string, t: { slot: number; id: string }) => v.replace(/\{\{\.Task\.Slot\}\}/g, String(t.slot)).replace(/\{\{\.Task\.ID\}\}/g, t.id);

describe.skipIf(!available)('multi-master stack rehearsal (two masters from the merged stack, PostgreSQL, Mosquitto, two workers)', () => {
  let dir = '';
  let pg: Postgres | undefined;
  let mosquitto: Proc | undefined;
  const masters: Proc[] = [];
  const workers: Proc[] = [];
  let secretsDir = '';
  const context = () => [mosquitto, ...masters, ...workers].filter(Boolean).map((p) => `--- ${p!.name} ---\n${p!.output().split('\n').slice(-25).join('\n')}`).join('\n');
  const http = (m: Proc) => `http://127.0.0.1:${m.env.TASKWIRE_HTTP_PORT}`;
  let apiKey = '';
  /** Tasks the single master took before it stopped (no worker ran then). */
  const leftBySingle: { id: string; text: string }[] = [];

  beforeAll(async () => {
    expect(cliBuilt(), `${CLI} missing: run npm run build first`).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'tw-mm-rehearsal-'));
    chmodSync(dir, 0o755); // Mosquitto started as root drops to its own user: it must reach the files.
    secretsDir = join(dir, 'secrets');
    execFileSync('bash', [join(REPO_ROOT, 'deploy', 'gen-secrets.sh'), '--out', secretsDir], { stdio: 'pipe' });
    writeFileSync(join(secretsDir, 'postgres_password'), 'pg-rehearsal-password\n'); // what deploy.sh --multi-master generates
    chmodSync(secretsDir, 0o755);
    for (const f of readdirSync(secretsDir)) chmodSync(join(secretsDir, f), 0o644);
    apiKey = readFileSync(join(secretsDir, 'api_keys'), 'utf8').split('\n')[0]!.trim();

    // The merged master: environment from docker stack config; mounts as stack.yml's plus the override's secret.
    type Merged = { services: { master: { environment: Record<string, string>; hostname: string; deploy: { replicas: number } } } };
    const stackConfig = (...files: string[]): Merged => {
      const r = spawnSync('docker', ['stack', 'config', '-c', STACK_FILE, ...files.flatMap((f) => ['-c', join(REPO_ROOT, f)])], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });
      expect(r.status, r.stderr).toBe(0);
      return parse(r.stdout) as Merged;
    };
    const merged = stackConfig('stack.postgres.yml', 'stack.multi-master.yml');
    expect(merged.services.master.deploy.replicas).toBe(TASKS.length);
    const base = loadStack({});

    pg = await Postgres.start();
    await pg.query("CREATE ROLE taskwire LOGIN PASSWORD 'pg-rehearsal-password'");
    await pg.query('CREATE DATABASE taskwire OWNER taskwire');

    const conf = readFileSync(join(REPO_ROOT, 'deploy', 'mosquitto', 'mosquitto.conf'), 'utf8');
    const shared = new Map<number, number>();
    for (const l of parseMosquittoConf(conf).listeners) shared.set(l.port, await freePort());
    shared.set(5432, pg.port);
    const hostnames = TASKS.map((t) => expand(merged.services.master.hostname, t));
    const hosts = new Set([...Object.keys(base.services), 'postgres', ...hostnames]);

    // Mosquitto: the shipped config, listener ports and mounted paths mapped.
    const mq = new Rehearsal(base, { ports: shared, hosts, secretsDir, dir });
    const confPath = join(dir, 'mosquitto.conf');
    writeFileSync(confPath, mq.mosquittoConf(conf, mq.mounts('mosquitto', 'mosquitto')), { mode: 0o644 });
    const child = spawn(MOSQUITTO!, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => out.push(b));
    mosquitto = { name: 'mosquitto', child, env: {}, output: () => Buffer.concat(out).toString('utf8'), exit: new Promise((res) => child.once('exit', res)) };
    for (const l of parseMosquittoConf(conf).listeners) await waitFor(`mosquitto :${l.port}`, 10_000, async () => ((await portOpen(shared.get(l.port)!)) ? true : undefined), context);

    // A master's process environment: the merged one (templates expanded), its own container ports.
    const imageEnv = dockerfileRuntimeEnv();
    const masterEnv = async (m: Merged, task: { slot: number; id: string }) => {
      const environment = Object.fromEntries(Object.entries(m.services.master.environment).map(([k, v]) => [k, expand(v, task)]));
      const master = base.services.master!;
      const stack: Stack = { ...base, services: { ...base.services, master: { ...master, environment, secrets: [...(master.secrets ?? []), 'postgres_password'] } } };
      const ports = new Map(shared);
      ports.set(Number(environment.TASKWIRE_HTTP_PORT), await freePort());
      ports.set(Number(environment.TASKWIRE_GRPC_PORT), await freePort());
      const rehearsal = new Rehearsal(stack, { ports, hosts, secretsDir, dir });
      const env = rehearsal.env('master', imageEnv, rehearsal.mounts('master', `master.${task.slot}`));
      // postgres://taskwire@postgres:5432/…: the user part keeps the URL rewrite from seeing the host.
      env.TASKWIRE_STORE = env.TASKWIRE_STORE!.replace('@postgres:5432/', `@127.0.0.1:${pg!.port}/`);
      return env;
    };
    const healthy = (m: Proc) =>
      waitFor(`${m.name} /healthz`, 60_000, async () => ((await fetch(`${http(m)}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), context);

    // The layout moved from (DEPLOYMENT.md §12): one master on PostgreSQL (stack.yml + stack.postgres.yml),
    // which takes tasks while no worker runs, then stops (TASKWIRE_MASTER_REPLICAS=0) before the multi masters start.
    const single = start('master.single', [CLI, 'master'], await masterEnv(stackConfig('stack.postgres.yml'), { slot: 1, id: 'single' }));
    masters.push(single);
    await healthy(single);
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${http(single)}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify({ kind: 'echo', input: { text: `single-${i}` } }) });
      expect(res.status).toBe(202);
      leftBySingle.push({ id: ((await res.json()) as { id: string }).id, text: `single-${i}` });
    }
    await stop(single, 20_000);
    expect(single.child.exitCode, context()).toBe(0);
    masters.pop();

    // The masters: one task each, its templates expanded.
    for (const task of TASKS) {
      const env = await masterEnv(merged, task);
      expect(env.TASKWIRE_MASTER_ID).toBe(hostnames[task.slot - 1]);
      expect(env.TASKWIRE_GRPC_ADVERTISE_HOST, 'the hostname alias, here 127.0.0.1').toBe('127.0.0.1');
      masters.push(start(`master.${task.slot}`, [CLI, 'master'], env));
    }
    for (const m of masters) await healthy(m);
    // Two replicas of the worker service (TASKWIRE_MASTER is only the fallback; each assignment names its master).
    const wr = new Rehearsal(base, { ports: shared, hosts, secretsDir, dir });
    for (let i = 1; i <= 2; i++) workers.push(start(`worker.${i}`, [CLI, 'worker'], wr.env('worker', imageEnv, wr.mounts('worker', `worker.${i}`))));
  }, 180_000);

  afterAll(async () => {
    for (const w of workers) await stop(w, 15_000);
    for (const m of masters) await stop(m, 20_000);
    await stop(mosquitto, 5_000);
    await pg?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  // Each master dispatches to its share of the workers and lists the other's as draining: one online worker each.
  it('passes verify.sh --no-docker against each master (healthy, a worker of its share online, an echo task answered)', () => {
    for (const m of masters) {
      const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'verify.sh'), '--no-docker', '--endpoint', http(m), '--min-workers', '1', '--timeout', '60'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: dir, TASKWIRE_SECRETS_DIR: secretsDir },
        timeout: 90_000,
      });
      expect(r.status, `${m.name}\n${r.stdout}\n${r.stderr}\n${context()}`).toBe(0);
      expect(r.stdout).toContain('all checks passed');
    }
  }, 200_000);

  it('runs tasks submitted through either master, and those the single master left; each is read through the other; one database row each; no SQLite file in the shared data dir', async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
    const submitted: { id: string; text: string; via: number }[] = [];
    for (let i = 0; i < 30; i++) {
      const via = i % 2;
      const text = `mm-${i}`;
      const res = await fetch(`${http(masters[via]!)}/api/v1/tasks`, { method: 'POST', headers, body: JSON.stringify({ kind: 'echo', input: { text } }) });
      expect(res.status, await res.clone().text()).toBe(202);
      submitted.push({ id: ((await res.json()) as { id: string }).id, text, via });
    }
    // The single master's unfinished tasks are in the shared pool: the multi masters run them too.
    submitted.push(...leftBySingle.map((t, i) => ({ ...t, via: i % 2 })));
    for (const t of submitted) {
      const other = masters[1 - t.via]!;
      const view = await waitFor(`task ${t.id} succeeded, read through ${other.name}`, 60_000, async () => {
        const r = await fetch(`${http(other)}/api/v1/tasks/${t.id}`, { headers });
        if (r.status !== 200) return undefined;
        const v = (await r.json()) as { status: string; result?: unknown };
        return v.status === 'succeeded' ? v : undefined;
      }, context);
      expect(JSON.stringify(view.result)).toContain(t.text);
    }
    for (const t of submitted) expect(t.id).toMatch(/^[A-Za-z0-9_-]+$/); // safe to quote in the SQL below
    const ids = submitted.map((t) => `'${t.id}'`).join(',');
    const rows = await pg!.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'succeeded')::int AS ok FROM tasks WHERE id IN (${ids})`, 'taskwire');
    expect(rows.rows[0]).toEqual({ n: submitted.length, ok: submitted.length });
    const members = await pg!.query('SELECT id FROM taskwire_masters ORDER BY id', 'taskwire');
    expect(members.rows.map((r: { id: string }) => r.id)).toEqual(masters.map((m) => m.env.TASKWIRE_MASTER_ID).sort());
    const dataDir = masters[0]!.env.TASKWIRE_DATA_DIR!;
    expect(masters[1]!.env.TASKWIRE_DATA_DIR).toBe(dataDir);
    const files = existsSync(dataDir) ? readdirSync(dataDir, { recursive: true }).map(String) : [];
    expect(files.filter((f) => /\.db(-wal|-shm)?$/.test(f)), `SQLite files in ${dataDir}`).toEqual([]);
  }, 120_000);
});
