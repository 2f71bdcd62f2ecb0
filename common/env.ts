/**
 * Reading configuration from environment variables. Every reader names the
 * variable in its error, so a wrong value stops the process with a clear message.
 */
import { ConfigError } from './errors.js';

export type Env = Record<string, string | undefined>;

export function envString(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function envInt(env: Env, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const raw = envString(env, name);
  if (raw === undefined) return undefined;
  return parseIntOption(name, raw, opts);
}

export function parseIntOption(name: string, raw: string, opts: { min?: number; max?: number } = {}): number {
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got "${raw}"`);
  const n = Number(raw);
  if (opts.min !== undefined && n < opts.min) throw new ConfigError(name, `must be >= ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new ConfigError(name, `must be <= ${opts.max}, got ${n}`);
  return n;
}

export function envBool(env: Env, name: string): boolean | undefined {
  const raw = envString(env, name);
  if (raw === undefined) return undefined;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

export function envEnum<T extends string>(env: Env, name: string, values: readonly T[]): T | undefined {
  const raw = envString(env, name);
  if (raw === undefined) return undefined;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${values.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function assertPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(name, `not a TCP port: ${port}`);
  return port;
}

/** Validates an mqtt:// or mqtts:// (or ws://) URL. */
export function parseMqttUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: "${raw}" (expected mqtt://host:port)`);
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new ConfigError(name, `unsupported scheme ${url.protocol} (expected mqtt:// or mqtts://)`);
  }
  return raw;
}

/** Reads a secret from NAME or from the file named by NAME_FILE (Swarm secrets). */
export async function envSecret(env: Env, name: string): Promise<string | undefined> {
  const direct = envString(env, name);
  if (direct !== undefined) return direct;
  const file = envString(env, `${name}_FILE`);
  if (file === undefined) return undefined;
  const { readFile } = await import('node:fs/promises');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(`${name}_FILE`, `cannot read ${file}: ${(err as Error).message}`);
  }
}
