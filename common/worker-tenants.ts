/**
 * Workers pinned to tenants (dedicated workers): a worker names the tenants it
 * serves in its status' `labels` under `taskwire.tenants` (comma list,
 * TASKWIRE_WORKER_TENANTS for the TypeScript worker). Without the label a
 * worker is shared and serves every tenant; old workers need nothing new.
 * The master reads it once per status (worker-registry.ts) and the scheduler
 * checks it in its eligibility, so every placement strategy honours it.
 */
import { ConfigError } from './errors.js';

export const TENANTS_LABEL = 'taskwire.tenants';
const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAX_TENANTS = 64;

/** The tenants a status' labels pin the worker to, or null (shared). Invalid names are ignored. */
export function tenantsOfLabels(labels: Readonly<Record<string, string>> | undefined): ReadonlySet<string> | null {
  const raw = labels?.[TENANTS_LABEL];
  if (raw === undefined || raw.trim() === '') return null;
  const names = raw.split(',').map((s) => s.trim()).filter((s) => TENANT_PATTERN.test(s)).slice(0, MAX_TENANTS);
  return names.length > 0 ? new Set(names) : null;
}

/** Parses a setting's comma list of tenant names (ConfigError naming the variable). */
export function parseTenantList(variable: string, raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!TENANT_PATTERN.test(n)) throw new ConfigError(variable, `"${n.slice(0, 64)}" is not a tenant name (lower-case letters, digits and -, 1-63 characters)`);
  if (names.length > MAX_TENANTS) throw new ConfigError(variable, `at most ${MAX_TENANTS} tenants`);
  return names;
}
