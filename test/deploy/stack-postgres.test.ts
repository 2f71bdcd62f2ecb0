/**
 * stack.postgres.yml, the override that puts the master's task store on a
 * PostgreSQL service: `docker stack config -c stack.yml -c stack.postgres.yml`
 * validates and merges it (no daemon needed), the merged stack keeps the
 * master's own secrets and one replica, PostgreSQL gets its password from a
 * mounted secret, its data from a named volume and a healthcheck; and the
 * master's settings as the override writes them (URL without a password,
 * TASKWIRE_STORE_PASSWORD_FILE) open a real PostgreSQL that checks passwords
 * (scram-sha-256), where a wrong password is refused.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { Master } from '../../master/master.js';
import { masterOptionsFromEnv } from '../../master/master-options-from-env.js';
import { storeUrlWithPassword } from '../../master/store/postgres-url.js';
import { uniqueId } from '../helpers/cluster.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { tempDir } from '../fault/fault-cluster.js';
import { envNamesReadByCode } from './code-facts.js';
import { z } from 'zod';
import { REPO_ROOT, STACK_FILE, interpolate, type Service } from './stack-model.js';

/** The parts of `docker stack config`'s merged output (long syntax) this test reads. */
const mergedService = z.looseObject({
  environment: z.record(z.string(), z.string()),
  secrets: z.array(z.object({ source: z.string(), target: z.string().optional() })),
  volumes: z.array(z.looseObject({ type: z.string(), source: z.string(), target: z.string() })).default([]),
  networks: z.record(z.string(), z.unknown()),
  healthcheck: z.looseObject({ test: z.array(z.string()) }).optional(),
  deploy: z.looseObject({ replicas: z.number().optional() }).optional(),
});
type MergedService = z.infer<typeof mergedService>;
const mergedSchema = z.object({ services: z.object({ postgres: mergedService, master: mergedService }).loose(), volumes: z.record(z.string(), z.unknown()), secrets: z.record(z.string(), z.unknown()) });

const OVERRIDE = join(REPO_ROOT, 'stack.postgres.yml');
/** The header says a second master is refused (the advisory lock): no layout here runs two. */
const TWO_REPLICAS_REFUSED = /never more: a second master is refused/.test(readFileSync(OVERRIDE, 'utf8'));
const hasDocker = spawnSync('docker', ['--version']).status === 0;
const override = parse(interpolate(readFileSync(OVERRIDE, 'utf8'), {})) as {
  services: Record<string, Partial<Service>>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { external?: boolean; name?: string }>;
};

describe('stack.postgres.yml', () => {
  it.skipIf(!hasDocker)('docker stack config merges it with stack.yml: PostgreSQL with a secret password, a volume and a healthcheck; the master on it, still one replica', () => {
    const r = spawnSync('docker', ['stack', 'config', '-c', STACK_FILE, '-c', OVERRIDE], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const merged = mergedSchema.parse(parse(r.stdout));
    const { postgres: pg, master } = merged.services;
    // PostgreSQL: password from a mounted secret, data on a named volume, a healthcheck.
    const mounts = (x: MergedService) => x.secrets.map((m) => ({ source: m.source, target: `/run/secrets/${m.target ?? m.source}` }));
    const pgSecrets = new Set(mounts(pg).map((m) => m.target));
    expect(pgSecrets.has(pg.environment!.POSTGRES_PASSWORD_FILE!), 'POSTGRES_PASSWORD_FILE names a mounted secret').toBe(true);
    expect(pg.environment!.POSTGRES_PASSWORD).toBeUndefined();
    const data = pg.volumes.find((v) => v.target === '/var/lib/postgresql/data');
    expect(data?.type, 'a named volume, not a bind mount').toBe('volume');
    expect(pg.environment!.PGDATA!.startsWith('/var/lib/postgresql/data/')).toBe(true);
    expect(merged.volumes[data!.source], 'the volume is defined').toBeDefined();
    expect(pg.healthcheck?.test.slice(0, 2)).toEqual(['CMD', 'pg_isready']);
    expect(Object.keys(pg.networks)).toEqual(['taskwire']);
    // The master: the store URL carries no password; the password file is a mounted secret, the same one PostgreSQL reads.
    const e = master.environment!;
    const url = new URL(e.TASKWIRE_STORE!);
    expect([url.protocol, url.hostname, url.username, url.password]).toEqual(['postgres:', 'postgres', pg.environment!.POSTGRES_USER, '']);
    expect(url.pathname).toBe(`/${pg.environment!.POSTGRES_DB}`);
    const masterSecrets = mounts(master);
    const pwd = masterSecrets.find((m) => m.target === e.TASKWIRE_STORE_PASSWORD_FILE);
    expect(pwd?.source).toBe(mounts(pg).find((m) => m.target === pg.environment!.POSTGRES_PASSWORD_FILE)?.source);
    expect(masterSecrets.map((m) => m.source).sort(), 'the override keeps the master\'s own secrets').toEqual(['api_keys', 'mqtt_master_password', 'postgres_password', 'result_secret']);
    expect(e.TASKWIRE_DATA_DIR, 'blobs, events and logs still live in the data dir').toBe('/data');
    // One master per database (the writer's advisory lock): never more than one replica.
    expect(master.deploy?.replicas).toBe(1);
    expect(merged.secrets.postgres_password).toMatchObject({ external: true, name: 'taskwire_postgres_password_v1' });
  });
  it.runIf(!hasDocker)('cannot run here: no docker CLI (reported, not failed)', () => {
    console.warn('SKIPPED docker stack config -c stack.yml -c stack.postgres.yml: no `docker` binary on PATH');
  });

  it('sets only variables the code reads, secrets only as *_FILE, and documents its variables in its header', () => {
    const read = envNamesReadByCode();
    for (const key of Object.keys(override.services.master?.environment ?? {})) expect(read.has(key), `master: ${key} is read nowhere`).toBe(true);
    for (const [name, s] of Object.entries(override.services)) {
      for (const key of Object.keys(s.environment ?? {})) expect(/(PASSWORD|SECRET|TOKEN)$/.test(key), `${name}: ${key} must be given as ${key}_FILE`).toBe(false);
    }
    expect(override.services.master?.deploy?.replicas, 'one master (0 only while migrating)').toBe(1);
    expect(TWO_REPLICAS_REFUSED).toBe(true);
    const text = readFileSync(OVERRIDE, 'utf8');
    const header = text.split(/^version:/m)[0]!;
    for (const m of text.matchAll(/\$\{([A-Z_]+)/g)) expect(header).toContain(m[1]);
    expect(override.secrets?.postgres_password?.external).toBe(true);
  });

  it('TASKWIRE_STORE_PASSWORD[_FILE] goes into the URL (encoded); a URL without a user is a configuration error', async () => {
    expect(storeUrlWithPassword('postgres://taskwire@db:5432/tw', 'p@ss:/w?rd')).toBe('postgres://taskwire:p%40ss%3A%2Fw%3Frd@db:5432/tw');
    expect(storeUrlWithPassword('postgresql://taskwire:old@db/tw', 'new')).toBe('postgresql://taskwire:new@db/tw');
    expect(storeUrlWithPassword('postgres://taskwire@db/tw', undefined)).toBe('postgres://taskwire@db/tw');
    expect(storeUrlWithPassword(undefined, 'x')).toBeUndefined();
    expect(() => storeUrlWithPassword('postgres://db/tw', 'x')).toThrow(/TASKWIRE_STORE.*needs a user/);
    const o = await masterOptionsFromEnv({ TASKWIRE_STORE: 'postgres://taskwire@db/tw', TASKWIRE_STORE_PASSWORD: 's3cret' });
    expect(o.store).toBe('postgres://taskwire:s3cret@db/tw');
  });
});

const available = postgresAvailable();
describe.skipIf(!available)(`the override's master settings against a PostgreSQL that checks passwords${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  const tmp = tempDir('taskwire-stack-pg-');
  let server: Postgres | undefined;
  afterAll(async () => {
    await server?.close();
    tmp.remove();
  });

  it('TASKWIRE_STORE without a password + TASKWIRE_STORE_PASSWORD_FILE opens the store; a wrong password is refused', async () => {
    server = await Postgres.start();
    const password = `pw-${uniqueId('p')}:@/`;
    await server.query(`CREATE ROLE taskwire LOGIN PASSWORD '${password}'`);
    await server.query('CREATE DATABASE taskwire OWNER taskwire');
    // From now on taskwire's logins need the password (the helper's own queries, as postgres, stay trusted).
    const hba = join(server.dir, 'data', 'pg_hba.conf');
    await server.query(`COPY (SELECT 'host all postgres 127.0.0.1/32 trust' UNION ALL SELECT 'host all all 127.0.0.1/32 scram-sha-256') TO '${hba}'`);
    await server.query('SELECT pg_reload_conf()');
    const file = join(tmp.dir, 'postgres_password');
    writeFileSync(file, `${password}\n`, { mode: 0o600 }); // a Swarm secret file, trailing newline and all
    const env = { TASKWIRE_STORE: `postgres://taskwire@127.0.0.1:${server.port}/taskwire`, TASKWIRE_STORE_PASSWORD_FILE: file };
    const common = { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false } as const;
    const m = await Master.create({ ...(await masterOptionsFromEnv(env)), ...common, masterId: uniqueId('m'), dataDir: join(tmp.dir, 'data') }, { logger: { logger: silentLogger() } });
    try {
      const res = await fetch(`http://127.0.0.1:${m.httpPort}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: 'x' } }) });
      expect(res.status).toBe(202);
      const rows = await server.query('SELECT count(*)::int AS n FROM tasks', 'taskwire');
      expect(rows.rows[0]?.n).toBe(1);
    } finally {
      await m.close();
    }
    writeFileSync(file, 'wrong\n');
    await expect(
      Master.create({ ...(await masterOptionsFromEnv(env)), ...common, masterId: uniqueId('m'), dataDir: join(tmp.dir, 'data2') }, { logger: { logger: silentLogger() } }),
    ).rejects.toThrow(/password authentication failed/);
  }, 90_000);
});
