/**
 * stack.multi-master.yml, the override that runs the master as a replicated
 * service in TASKWIRE_MASTERS=multi mode on the PostgreSQL override:
 * `docker stack config -c stack.yml -c stack.postgres.yml -c stack.multi-master.yml`
 * validates and merges the three files (no daemon needed), and the merged
 * master has at least two replicas, multi mode on the PostgreSQL store and the
 * stack's broker, an id and an advertised gRPC host per task from Swarm's
 * templates (the same name as the container's hostname, which Docker makes a
 * DNS alias on the overlay network), start-first updates, its secrets and no
 * password in its environment; PostgreSQL keeps its secret and volume and is
 * pinned by a label of its own. The templates, expanded as Swarm expands them,
 * give ids that common/topics.ts accepts and host names every worker's gRPC
 * accepts (no underscore).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ID_PATTERN } from '../../common/topics.js';
import { masterOptionsFromEnv } from '../../master/master-options-from-env.js';
import { envNamesReadByCode } from './code-facts.js';
import { REPO_ROOT, STACK_FILE, interpolate, type Service } from './stack-model.js';

const POSTGRES = join(REPO_ROOT, 'stack.postgres.yml');
const OVERRIDE = join(REPO_ROOT, 'stack.multi-master.yml');
const hasDocker = spawnSync('docker', ['--version']).status === 0;
const overrideText = readFileSync(OVERRIDE, 'utf8');
const override = parse(interpolate(overrideText, {})) as { services: Record<string, Partial<Service> & { hostname?: string }> };

/** The parts of `docker stack config`'s merged output (long syntax) this test reads. */
const mergedService = z.looseObject({
  hostname: z.string().optional(),
  environment: z.record(z.string(), z.string()),
  secrets: z.array(z.object({ source: z.string(), target: z.string().optional() })),
  volumes: z.array(z.looseObject({ type: z.string(), source: z.string(), target: z.string() })).default([]),
  ports: z.array(z.looseObject({ target: z.number(), published: z.union([z.number(), z.string()]), mode: z.string().optional() })).default([]),
  deploy: z.looseObject({
    replicas: z.number(),
    update_config: z.looseObject({ order: z.string() }).optional(),
    rollback_config: z.looseObject({ order: z.string() }).optional(),
    placement: z.looseObject({ constraints: z.array(z.string()).default([]) }).optional(),
  }),
});
const mergedSchema = z.object({ services: z.object({ postgres: mergedService, master: mergedService }).loose() }).loose();

/** Swarm's expansion of the task templates (docs: `docker service create`, "Create services using templates"). */
function expand(template: string, task: { slot: number; id: string }): string {
  return template.replace(/\{\{\s*\.Task\.Slot\s*\}\}/g, String(task.slot)).replace(/\{\{\s*\.Task\.ID\s*\}\}/g, task.id);
}
/** A Swarm task id: 25 lower-case letters and digits. */
const TASK_IDS = ['x3ti0erg11rjpg64m75kej2mz', 'wo41w8hg8qanxwjwsg4kxpprj'];
/** One DNS label (RFC 1123): what a host name may be for every worker's gRPC (Java's refuses '_'). */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function mergedStack(env: Record<string, string> = {}) {
  const r = spawnSync('docker', ['stack', 'config', '-c', STACK_FILE, '-c', POSTGRES, '-c', OVERRIDE], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return mergedSchema.parse(parse(r.stdout));
}

describe('stack.multi-master.yml', () => {
  it.skipIf(!hasDocker)('docker stack config merges it with stack.yml and stack.postgres.yml: two masters in multi mode, an id and a reachable gRPC host per task, start-first, secrets only', async () => {
    const { master, postgres: pg } = mergedStack().services;
    const e = master.environment;
    expect(master.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(e.TASKWIRE_MASTERS).toBe('multi');
    // Multi mode needs a PostgreSQL store and an external broker every master and worker uses (refused at start otherwise).
    expect(new URL(e.TASKWIRE_STORE!).protocol).toBe('postgres:');
    expect(new URL(e.TASKWIRE_MQTT_URL!).hostname).toBe('mosquitto');
    // One identity per task: the id, the hostname (a DNS alias on the overlay) and the advertised gRPC host are one template.
    const template = e.TASKWIRE_MASTER_ID!;
    expect(template).toMatch(/\{\{\.Task\.ID\}\}/);
    expect(master.hostname).toBe(template);
    expect(e.TASKWIRE_GRPC_ADVERTISE_HOST).toBe(template);
    const ids = TASK_IDS.map((id) => expand(template, { slot: 1, id }));
    expect(new Set(ids).size, 'two tasks of one slot (start-first) have two ids').toBe(2);
    for (const [slot, id] of [[1, TASK_IDS[0]!], [2, TASK_IDS[1]!]] as const) {
      const name = expand(template, { slot, id });
      expect(name).not.toMatch(/[{}]/);
      expect(ID_PATTERN.test(name), `${name} is a valid master id`).toBe(true);
      expect(DNS_LABEL.test(name), `${name} is one DNS label, no underscore`).toBe(true);
      // The master's own configuration takes them as they are.
      const o = await masterOptionsFromEnv({ TASKWIRE_MASTER_ID: name, TASKWIRE_GRPC_ADVERTISE_HOST: name });
      expect([o.masterId, o.grpcAdvertiseHost]).toEqual([name, name]);
    }
    // Updates start the new master first; any replica answers HTTP on the routing mesh.
    expect(master.deploy.update_config?.order).toBe('start-first');
    expect(master.deploy.rollback_config?.order).toBe('start-first');
    expect(master.ports).toEqual([expect.objectContaining({ target: Number(e.TASKWIRE_HTTP_PORT), mode: 'ingress' })]);
    // Secrets: mounted files only, the store password the one PostgreSQL reads; no password in the URL or the environment.
    const mounted = (s: { secrets: { source: string; target?: string }[] }) => new Map(s.secrets.map((m) => [`/run/secrets/${m.target ?? m.source}`, m.source]));
    expect([...mounted(master).values()].sort()).toEqual(['api_keys', 'mqtt_master_password', 'postgres_password', 'result_secret']);
    expect(mounted(master).get(e.TASKWIRE_STORE_PASSWORD_FILE!)).toBe(mounted(pg).get(pg.environment.POSTGRES_PASSWORD_FILE!));
    expect(new URL(e.TASKWIRE_STORE!).password).toBe('');
    for (const [svc, s] of [['master', master], ['postgres', pg]] as const) {
      for (const key of Object.keys(s.environment)) expect(/(PASSWORD|SECRET|TOKEN)$/.test(key), `${svc}: ${key} must be given as ${key}_FILE`).toBe(false);
    }
    // The data dir stays a volume (blobs, runtime settings); PostgreSQL keeps its volume and is pinned by its own label.
    expect(master.volumes.find((v) => v.target === e.TASKWIRE_DATA_DIR)?.type).toBe('volume');
    expect(pg.volumes.find((v) => v.target === '/var/lib/postgresql/data')?.type).toBe('volume');
    expect(pg.deploy.replicas).toBe(1);
    expect(pg.deploy.placement?.constraints).toContain('node.labels.taskwire.postgres == true');
    expect(master.deploy.placement?.constraints).not.toContain('node.labels.taskwire.postgres == true');
  });

  it.skipIf(!hasDocker)('TASKWIRE_MASTER_REPLICAS sets the number of masters (0 while migrating)', () => {
    expect(mergedStack({ TASKWIRE_MASTER_REPLICAS: '3' }).services.master.deploy.replicas).toBe(3);
    expect(mergedStack({ TASKWIRE_MASTER_REPLICAS: '0' }).services.master.deploy.replicas).toBe(0);
  });
  it.runIf(!hasDocker)('cannot run here: no docker CLI (reported, not failed)', () => {
    console.warn('SKIPPED docker stack config -c stack.yml -c stack.postgres.yml -c stack.multi-master.yml: no `docker` binary on PATH');
  });

  it('sets only variables the code reads, templates only where Swarm expands them, and documents its variables in its header', () => {
    const read = envNamesReadByCode();
    for (const key of Object.keys(override.services.master?.environment ?? {})) expect(read.has(key), `master: ${key} is read nowhere`).toBe(true);
    // Swarm expands templates in hostname, environment and mounts only: anywhere else they would be taken literally.
    for (const [name, s] of Object.entries(override.services)) {
      const { hostname: _h, environment: _e, volumes: _v, ...rest } = s;
      expect(JSON.stringify(rest), `${name}: a template outside hostname/environment/volumes`).not.toMatch(/\{\{/);
    }
    expect(override.services.master?.deploy?.replicas).toBe(2);
    const header = overrideText.split(/^version:/m)[0]!;
    for (const m of overrideText.matchAll(/\$\{([A-Z_]+)/g)) expect(header).toContain(m[1]);
    expect(header).toContain('docker stack deploy -c stack.yml -c stack.postgres.yml -c stack.multi-master.yml taskwire');
  });
});
