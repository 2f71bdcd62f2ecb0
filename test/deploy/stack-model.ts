/**
 * stack.yml as the deploy tests see it: Compose-style interpolation, a zod
 * schema for the parts we rely on, and helpers that map a service's Swarm
 * mounts (secrets, configs, volumes) to files on this machine.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STACK_FILE = join(REPO_ROOT, 'stack.yml');

export type Env = Record<string, string | undefined>;

/** Compose interpolation: `$$` → `$`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset). */
export function interpolate(text: string, env: Env): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name?: string, op?: string, def?: string) => {
    if (whole === '$$') return '$';
    const value = env[name!];
    if (op === ':-') return value === undefined || value === '' ? (def ?? '') : value;
    if (op === '-') return value === undefined ? (def ?? '') : value;
    return value ?? '';
  });
}

/** Names of the variables stack.yml interpolates. */
export function interpolatedNames(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))];
}

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const mountRef = z.union([
  z.string(),
  z.object({
    source: z.string(),
    target: z.string().optional(),
    uid: z.string().optional(),
    gid: z.string().optional(),
    mode: z.number().optional(),
  }),
]);

const healthcheck = z.object({
  test: z.array(z.string()).min(2),
  interval: z.string(),
  timeout: z.string(),
  retries: z.number().int().min(1),
  start_period: z.string().optional(),
});

const updateConfig = z.looseObject({
  parallelism: z.number().int().optional(),
  order: z.enum(['start-first', 'stop-first']),
  failure_action: z.enum(['rollback', 'pause', 'continue']).optional(),
  monitor: z.string().optional(),
});

export const serviceSchema = z.looseObject({
  image: z.string(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), scalar).optional(),
  secrets: z.array(mountRef).optional(),
  configs: z.array(mountRef).optional(),
  volumes: z.array(z.string()).optional(),
  ports: z
    .array(z.object({ target: z.number().int(), published: scalar, protocol: z.string().optional(), mode: z.string().optional() }))
    .optional(),
  networks: z.array(z.string()).optional(),
  healthcheck: healthcheck.optional(),
  stop_grace_period: z.string().optional(),
  logging: z.object({ driver: z.string(), options: z.record(z.string(), scalar).optional() }).optional(),
  deploy: z
    .looseObject({
      mode: z.enum(['replicated', 'global']).optional(),
      replicas: z.number().int().min(0).optional(),
      update_config: updateConfig.optional(),
      rollback_config: updateConfig.partial().optional(),
      restart_policy: z.looseObject({ condition: z.enum(['none', 'on-failure', 'any']) }).optional(),
      resources: z
        .looseObject({
          limits: z.looseObject({ cpus: scalar.optional(), memory: scalar.optional() }).optional(),
        })
        .optional(),
      placement: z.looseObject({ constraints: z.array(z.string()).optional() }).optional(),
    })
    .optional(),
});

export type Service = z.infer<typeof serviceSchema>;

export const stackSchema = z.looseObject({
  version: z.string(),
  services: z.record(z.string(), serviceSchema),
  networks: z.record(z.string(), z.looseObject({ driver: z.string().optional() }).nullable()).optional(),
  volumes: z.record(z.string(), z.looseObject({}).nullable()).optional(),
  configs: z.record(z.string(), z.looseObject({ file: z.string().optional(), external: z.boolean().optional(), name: z.string().optional() })).optional(),
  secrets: z.record(z.string(), z.looseObject({ file: z.string().optional(), external: z.boolean().optional(), name: z.string().optional() })).optional(),
});

export type Stack = z.infer<typeof stackSchema>;

export function stackText(): string {
  return readFileSync(STACK_FILE, 'utf8');
}

/** Parses stack.yml after interpolating with `env` (unset variables take their defaults). */
export function loadStack(env: Env = {}): Stack {
  const doc: unknown = parse(interpolate(stackText(), env), { merge: true });
  return stackSchema.parse(doc);
}

export function env(service: Service): Record<string, string> {
  return service.environment ?? {};
}

/** A mount's source and the path it appears at inside the container. */
export interface Mount {
  source: string;
  target: string;
}

/** Secrets appear in /run/secrets/<target> (target defaults to the source name). */
export function secretMounts(service: Service): Mount[] {
  return (service.secrets ?? []).map((s) =>
    typeof s === 'string' ? { source: s, target: `/run/secrets/${s}` } : { source: s.source, target: absSecret(s.target ?? s.source) },
  );
}

function absSecret(target: string): string {
  return target.startsWith('/') ? target : `/run/secrets/${target}`;
}

/** Configs appear at <target> (default /<source>). */
export function configMounts(service: Service): Mount[] {
  return (service.configs ?? []).map((c) =>
    typeof c === 'string' ? { source: c, target: `/${c}` } : { source: c.source, target: c.target ?? `/${c.source}` },
  );
}

/** Named volumes (`name:/path[:ro]`); bind mounts are returned with the host path as source. */
export function volumeMounts(service: Service): (Mount & { named: boolean })[] {
  return (service.volumes ?? []).map((v) => {
    const [source = '', target = ''] = v.split(':');
    return { source, target, named: !source.startsWith('/') && !source.startsWith('.') };
  });
}

/** "1m30s", "60s", "500ms" → milliseconds. */
export function durationMs(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`not a duration: "${text}"`);
  return total;
}

/** Listener ports of a Mosquitto config and the settings that follow each listener. */
export interface MosquittoListener {
  port: number;
  settings: Map<string, string>;
}

export function parseMosquittoConf(text: string): { global: Map<string, string>; listeners: MosquittoListener[] } {
  const global = new Map<string, string>();
  const listeners: MosquittoListener[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [key = '', ...rest] = line.split(/\s+/);
    const value = rest.join(' ');
    if (key === 'listener') {
      listeners.push({ port: Number(rest[0]), settings: new Map() });
    } else if (listeners.length > 0) {
      listeners[listeners.length - 1]!.settings.set(key, value);
    } else {
      global.set(key, value);
    }
  }
  return { global, listeners };
}

/** The services built from our Dockerfile(s) rather than pulled. */
export function isOwnImage(image: string): boolean {
  return /\/taskwire(-[a-z-]+)?:/.test(image);
}
