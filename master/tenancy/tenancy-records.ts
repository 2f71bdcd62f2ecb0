/**
 * What the tenancy room keeps: tenants, users (optional) and API keys, their
 * id patterns and their public views. A key is stored as the sha256 of its
 * secret, never the secret; its id (`key-<16 hex>`) is random and never
 * derived from the secret.
 */
import { z } from 'zod';
import { SCOPES, type Scope } from '../http/auth/principal.js';
import { KIND_NAME_PATTERN } from '../../common/kind-names.js';

/** Tenant and user ids: lower-case letters, digits and `-`, 1-63 characters, starting with a letter or digit. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const KEY_ID_PATTERN = /^key-[0-9a-f]{4,32}$/;

export const tenantId = z.string().regex(TENANT_ID_PATTERN, 'lower-case letters, digits and -, 1-63 characters');
export const scopeList = z.array(z.enum(SCOPES)).min(1).max(SCOPES.length);
export const kindList = z.array(z.string().regex(KIND_NAME_PATTERN, 'not a valid kind name')).min(1).max(100);
export const modelList = z.array(z.string().min(1).max(200)).min(1).max(100);
export const label = z.string().min(1).max(200);

export interface TenantRecord {
  id: string;
  name: string | null;
  createdAtMs: number;
}

export interface UserRecord {
  tenant: string;
  id: string;
  name: string | null;
  createdAtMs: number;
}

export interface ApiKeyRecord {
  id: string;
  tenant: string;
  user: string | null;
  name: string | null;
  scopes: Scope[];
  kinds: string[] | null;
  models: string[] | null;
  /** sha256 of the secret, hex. */
  hash: string;
  /** The first characters of the secret (`tw_` + 4), to recognise it; never enough to use it. */
  prefix: string;
  createdAtMs: number;
  rotatedAtMs: number | null;
  revokedAtMs: number | null;
}

export interface TenantView {
  id: string;
  name: string | null;
  created_at: string;
  keys: number;
}

export interface ApiKeyView {
  id: string;
  tenant: string;
  user: string | null;
  name: string | null;
  scopes: Scope[];
  kinds: string[] | null;
  models: string[] | null;
  prefix: string;
  created_at: string;
  rotated_at: string | null;
  revoked_at: string | null;
  status: 'active' | 'revoked';
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function keyView(k: ApiKeyRecord): ApiKeyView {
  return {
    id: k.id, tenant: k.tenant, user: k.user, name: k.name, scopes: k.scopes, kinds: k.kinds, models: k.models, prefix: k.prefix,
    created_at: new Date(k.createdAtMs).toISOString(), rotated_at: iso(k.rotatedAtMs), revoked_at: iso(k.revokedAtMs),
    status: k.revokedAtMs === null ? 'active' : 'revoked',
  };
}
