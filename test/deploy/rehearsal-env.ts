/**
 * Maps stack.yml's view of the world onto this machine for the stack
 * rehearsal: service names → 127.0.0.1, container ports → free local ports,
 * Swarm secrets/configs/volumes → files and directories in a temp dir.
 * Nothing else of a service's environment or of the shipped Mosquitto config
 * is changed.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT, configMounts, secretMounts, volumeMounts, type Service, type Stack } from './stack-model.js';

/** Variables whose value is a host name. */
const HOST_KEY = /(_HOST|^TASKWIRE_MASTER)$/;

export { freePort } from '../helpers/ports.js';

/** Polls `probe` (every 100 ms) until it gives a value; after `timeoutMs` throws, naming `what`, with `context()`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, context = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface RehearsalMap {
  /** Container port → local port. */
  ports: Map<number, number>;
  /** Stack service names (all resolve to 127.0.0.1). */
  hosts: Set<string>;
  /** Directory with the files of gen-secrets.sh, one per secret key. */
  secretsDir: string;
  /** Scratch directory for configs, volumes and per-process files. */
  dir: string;
}

export class Rehearsal {
  constructor(
    readonly stack: Stack,
    readonly map: RehearsalMap,
  ) {}

  /** Container path → local path for everything Swarm mounts into `service`. */
  mounts(serviceName: string, instance: string): Map<string, string> {
    const service = this.service(serviceName);
    const out = new Map<string, string>();
    for (const m of secretMounts(service)) out.set(m.target, join(this.map.secretsDir, m.source));
    for (const m of configMounts(service)) {
      const file = this.stack.configs?.[m.source]?.file;
      if (!file) throw new Error(`config ${m.source} has no file`);
      const local = join(this.map.dir, 'configs', m.source);
      mkdirSync(join(this.map.dir, 'configs'), { recursive: true, mode: 0o755 });
      copyFileSync(join(REPO_ROOT, file), local);
      out.set(m.target, local);
    }
    for (const v of volumeMounts(service)) {
      // One volume per node in Swarm; one directory per service here.
      const local = join(this.map.dir, 'volumes', serviceName, v.source);
      mkdirSync(local, { recursive: true });
      out.set(v.target, local);
    }
    // Container-private scratch (health files): one directory per process.
    const scratch = join(this.map.dir, 'tmp', instance);
    mkdirSync(scratch, { recursive: true });
    out.set('/tmp', scratch);
    return out;
  }

  service(name: string): Service {
    const s = this.stack.services[name];
    if (!s) throw new Error(`no service ${name} in stack.yml`);
    return s;
  }

  /** Rewrites one value: mounted paths, service host names, container ports in URLs. */
  rewrite(value: string, mounts: Map<string, string>, key = ''): string {
    for (const [target, local] of mounts) {
      if (value === target) return local;
      if (value.startsWith(`${target}/`)) return local + value.slice(target.length);
    }
    // A bare service name as a host (not, say, the MQTT username "master").
    if (HOST_KEY.test(key) && this.map.hosts.has(value)) return '127.0.0.1';
    // A worker's own metrics port: every replica would share it here, so each gets a free one (0).
    if (key === 'TASKWIRE_METRICS_PORT' && /^\d+$/.test(value)) return '0';
    if (/_PORT$/.test(key) && /^\d+$/.test(value)) {
      const p = this.map.ports.get(Number(value));
      if (p === undefined) throw new Error(`${key}=${value}: no local port for container port ${value}`);
      return String(p);
    }
    return value.replace(/\/\/([A-Za-z0-9_.-]+):(\d+)/g, (whole, host: string, port: string) => {
      if (!this.map.hosts.has(host)) return whole;
      const p = this.map.ports.get(Number(port));
      if (p === undefined) throw new Error(`${value}: no local port for ${host}:${port}`);
      return `//127.0.0.1:${p}`;
    });
  }

  /** The environment a container of `serviceName` gets (image ENV + service environment), mapped. */
  env(serviceName: string, imageEnv: Record<string, string>, mounts: Map<string, string>): Record<string, string> {
    const raw = { ...imageEnv, ...(this.service(serviceName).environment ?? {}) };
    const out: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.map.dir };
    for (const [k, v] of Object.entries(raw)) out[k] = this.rewrite(v, mounts, k);
    return out;
  }

  /** A Mosquitto config line by line, with listener ports and mounted file paths mapped. */
  mosquittoConf(text: string, mounts: Map<string, string>): string {
    return text
      .split('\n')
      .map((line) => {
        const m = /^(\s*)(\S+)(\s+)(.*)$/.exec(line);
        if (!m || m[2]!.startsWith('#')) return line;
        const [, indent, key, space, value] = m as unknown as [string, string, string, string, string];
        if (key === 'listener') {
          const port = this.map.ports.get(Number(value.split(/\s+/)[0]));
          if (port === undefined) throw new Error(`no local port for ${line}`);
          return `${indent}listener${space}${port} 127.0.0.1`;
        }
        if (mounts.has(value)) return `${indent}${key}${space}${mounts.get(value)!}`;
        return line;
      })
      .join('\n');
  }
}
