/**
 * REST admin routes of the tenancy room (admin scope only), under /api/v1:
 *
 *   GET  /admin/tenants                  tenants (a tenant's admin: its own)
 *   POST /admin/tenants                  {id, name?}            cluster admin only
 *   GET  /admin/users?tenant=            users
 *   POST /admin/users                    {id, tenant?, name?}
 *   GET  /admin/keys?tenant=             keys, never their secrets
 *   POST /admin/keys                     {tenant?, user?, name?, scopes?, kinds?, models?} → {key, secret} (the secret once)
 *   POST /admin/keys/:id/rotate          → {key, secret}: the old secret stops working now
 *   POST /admin/keys/:id/revoke          → {key}: refused everywhere at once, open connections dropped
 *
 * A cluster admin (tenant `default`) manages every tenant; an admin key of
 * another tenant manages only its own tenant's users and keys (others'
 * keys answer 404). Every change is audited (admin-audit.ts: a
 * `config.changed` event of the tenant concerned, never a secret). Bodies
 * are zod-validated; a 400 names the field. A
 * change is answered once it is kept (PostgreSQL: committed, so every
 * master sees it).
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { TaskwireError, NotFoundError } from '../../common/errors.js';
import { principalOf, requireScope } from '../http/auth/http-auth.js';
import { DEFAULT_TENANT, type Authenticator, type Principal } from '../http/auth/principal.js';
import { sendError } from '../http/http-errors.js';
import { parseBody } from '../http/rest-api.js';
import { type AdminAudit, NO_AUDIT } from './admin-audit.js';
import { generateBootstrapAdmin } from './bootstrap-admin.js';
import type { KeyStore } from './key-store.js';
import { kindList, label, modelList, scopeList, tenantId } from './tenancy-records.js';

export const tenantBody = z.object({ id: tenantId, name: label.optional() }).strict();
export const userBody = z.object({ id: tenantId, tenant: tenantId.optional(), name: label.optional() }).strict();
export const keyBody = z
  .object({
    tenant: tenantId.optional(),
    user: tenantId.optional(),
    name: label.optional(),
    scopes: scopeList.default(['submit', 'read']),
    kinds: kindList.optional(),
    models: modelList.optional(),
  })
  .strict();
export const tenantQuery = z.object({ tenant: tenantId.optional() }).strict();

export interface AdminRoutesDeps {
  keys: KeyStore;
  auth: Authenticator;
  /** Where a bootstrap admin key generated on the first key is shown once (default stdout). */
  print?: (text: string) => void;
  /** Records every change (admin-audit.ts): who, what, before, after; never a secret. */
  audit?: AdminAudit;
}

const clusterAdmin = (p: Principal): boolean => p.tenant === DEFAULT_TENANT;

/** The tenant a call acts on: the one asked for (cluster admin) or the caller's own. */
function scopeTenant(p: Principal, asked: string | undefined): string | undefined {
  if (clusterAdmin(p)) return asked;
  if (asked !== undefined && asked !== p.tenant) throw new TaskwireError('FORBIDDEN', `this key manages tenant ${p.tenant} only`);
  return p.tenant;
}

export function adminRoutes({ keys, auth, print, audit = NO_AUDIT }: AdminRoutesDeps): Router {
  const r = Router();
  const admin = (res: Parameters<typeof principalOf>[0]): Principal => {
    const p = principalOf(res);
    requireScope(p, 'admin');
    return p;
  };
  /** A key the caller may manage, or 404 (another tenant's key is not revealed). */
  const ownKey = (p: Principal, id: string) => {
    const k = keys.key(id);
    if (!k || (!clusterAdmin(p) && k.tenant !== p.tenant)) throw new NotFoundError(`no key ${id}`);
    return k;
  };

  r.get('/admin/tenants', (req, res) => {
    try {
      const p = admin(res);
      const all = keys.listTenants();
      res.json({ tenants: clusterAdmin(p) ? all : all.filter((t) => t.id === p.tenant) });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.post('/admin/tenants', async (req, res) => {
    try {
      const p = admin(res);
      if (!clusterAdmin(p)) throw new TaskwireError('FORBIDDEN', 'only an admin of tenant default creates tenants');
      const body = parseBody(tenantBody, req.body);
      const t = keys.createTenant(body);
      await keys.flushed();
      const view = keys.listTenants().find((x) => x.id === t.id);
      audit(p, 'tenant', t.id, null, view);
      res.status(201).json({ tenant: view });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/admin/users', (req, res) => {
    try {
      const p = admin(res);
      const q = parseBody(tenantQuery, req.query);
      const users = keys.listUsers(scopeTenant(p, q.tenant));
      res.json({ users: users.map((u) => ({ tenant: u.tenant, id: u.id, name: u.name, created_at: new Date(u.createdAtMs).toISOString() })) });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.post('/admin/users', async (req, res) => {
    try {
      const p = admin(res);
      const body = parseBody(userBody, req.body);
      const u = keys.createUser({ id: body.id, name: body.name, tenant: scopeTenant(p, body.tenant) ?? DEFAULT_TENANT });
      await keys.flushed();
      const view = { tenant: u.tenant, id: u.id, name: u.name, created_at: new Date(u.createdAtMs).toISOString() };
      audit(p, 'user', u.tenant, null, view);
      res.status(201).json({ user: view });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/admin/keys', (req, res) => {
    try {
      const p = admin(res);
      const q = parseBody(tenantQuery, req.query);
      res.json({ keys: keys.listKeys(scopeTenant(p, q.tenant)) });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.post('/admin/keys', async (req, res) => {
    try {
      const p = admin(res);
      const body = parseBody(keyBody, req.body);
      const wasOpen = !auth.required;
      const out = keys.createKey({ ...body, tenant: scopeTenant(p, body.tenant) ?? DEFAULT_TENANT });
      // The first key of a cluster without keys: keys are required from now on, so the local caller gets an admin key too.
      const bootstrap = wasOpen && !keys.hasActiveAdmin() ? generateBootstrapAdmin(keys, print) : undefined;
      await keys.flushed();
      audit(p, 'key', out.key.tenant, null, out.key);
      res.status(201).json({ ...out, ...(bootstrap && { admin_key: { id: bootstrap.keyId, secret: bootstrap.secret } }) });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.post('/admin/keys/:id/rotate', async (req: Request<{ id: string }>, res) => {
    try {
      const p = admin(res);
      const before = ownKey(p, req.params.id);
      const out = keys.rotateKey(req.params.id);
      await keys.flushed();
      audit(p, 'key', out.key.tenant, before, out.key);
      res.json(out);
    } catch (err) {
      sendError(res, err);
    }
  });
  r.post('/admin/keys/:id/revoke', async (req: Request<{ id: string }>, res) => {
    try {
      const p = admin(res);
      const before = ownKey(p, req.params.id);
      const key = keys.revokeKey(req.params.id);
      await keys.flushed();
      audit(p, 'key', key.tenant, before, key);
      res.json({ key });
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}
