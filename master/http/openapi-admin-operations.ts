/**
 * The OpenAPI entries of the admin routes: tenants, users and keys
 * (tenancy/admin-routes.ts), limits (limits/limit-routes.ts), usage, prices
 * and budgets (billing/usage-routes.ts), a tenant's own limits and budgets
 * (limits/limit-routes.ts, billing/tenant-budget-routes.ts). Request schemas are the routes' own;
 * answers are described here.
 */
import { z } from 'zod';
import { budgetRule, budgetsConfig, tenantBudgetsBody } from '../billing/budgets.js';
import { priceEntry, priceTableBody } from '../billing/price-table.js';
import { reportQuery } from '../billing/usage-routes.js';
import { limitRule, limitsConfig } from '../limits/limit-rules.js';
import { tenantLimitsBody } from '../limits/tenant-limits.js';
import { keyBody, tenantBody, tenantQuery, userBody } from '../tenancy/admin-routes.js';
import { SCOPES } from './auth/principal.js';
import type { ApiOperation } from './openapi-operation.js';

const iso = z.string().meta({ description: 'ISO 8601 time' });
const tenantView = z.object({ id: z.string(), name: z.string().nullable(), created_at: iso, keys: z.number().int() }).meta({ id: 'Tenant' });
const userView = z.object({ tenant: z.string(), id: z.string(), name: z.string().nullable(), created_at: iso }).meta({ id: 'User' });
const keyView = z
  .object({
    id: z.string(),
    tenant: z.string(),
    user: z.string().nullable(),
    name: z.string().nullable(),
    scopes: z.array(z.enum(SCOPES)),
    kinds: z.array(z.string()).nullable(),
    models: z.array(z.string()).nullable(),
    prefix: z.string().meta({ description: 'the first characters of the secret, to recognise it' }),
    created_at: iso,
    rotated_at: iso.nullable(),
    revoked_at: iso.nullable(),
    status: z.enum(['active', 'revoked']),
  })
  .meta({ id: 'ApiKey' });
const keyWithSecret = z.object({ key: keyView, secret: z.string().meta({ description: 'the secret, shown this once' }) });
const limitsView = limitsConfig.extend({ source: z.enum(['setting', 'admin']).meta({ description: 'TASKWIRE_RATE_LIMITS, or set by an admin' }) });
const tenantLimitsView = z
  .object({ tenant: z.string(), rules: z.array(limitRule).meta({ description: "the tenant admin's own rules" }), caps: z.array(limitRule).meta({ description: "the cluster admin's rules for this tenant or its keys: the tenant admin's stay within them" }) })
  .meta({ id: 'TenantLimits' });
const tenantBudgetsView = z
  .object({ tenant: z.string(), budgets: z.array(budgetRule).meta({ description: "the tenant admin's own budgets" }), caps: z.array(budgetRule).meta({ description: "the cluster admin's budgets for this tenant or its keys: the tenant admin's stay within them" }) })
  .meta({ id: 'TenantBudgets' });
const TENANT_ADMIN = "An admin key of the tenant or a cluster admin's; another tenant's admin gets 404. Enforced in addition to the cluster admin's rules; a value above a cap is a 400 naming the field.";
const totals = {
  attempts: z.number().int(),
  tokens_in: z.number(),
  tokens_out: z.number(),
  processing_ms: z.number(),
  images: z.number(),
  megapixels: z.number(),
  bytes_in: z.number(),
  bytes_out: z.number(),
  cost: z.number(),
};
const usageReport = z
  .object({
    tenant: z.string().nullable(),
    period: z.enum(['day', 'month']),
    label: z.string(),
    from: iso,
    to: iso,
    currency: z.string(),
    totals: z.object(totals),
    lines: z.array(z.object({ tenant: z.string(), key: z.string(), kind: z.string(), model: z.string().nullable(), ...totals })),
  })
  .meta({ id: 'UsageReport' });
const priceVersion = z.object({ version: z.number().int(), effective_from_ms: z.number().int(), currency: z.string(), prices: z.array(priceEntry) }).meta({ id: 'PriceVersion' });

const FORBIDDEN_ADMIN = { 403: 'not an admin key' };

export const ADMIN_OPERATIONS: readonly ApiOperation[] = [
  { method: 'get', path: '/api/v1/admin/tenants', tag: 'admin', scope: 'admin', summary: 'tenants (an admin of another tenant than default: its own)', response: { description: 'the tenants', schema: z.object({ tenants: z.array(tenantView) }) } },
  {
    method: 'post', path: '/api/v1/admin/tenants', tag: 'admin', scope: 'admin', summary: 'create a tenant (an admin of tenant default only)', body: tenantBody, status: 201,
    response: { description: 'the tenant', schema: z.object({ tenant: tenantView }) }, errors: { 409: 'a tenant with this id exists' },
  },
  { method: 'get', path: '/api/v1/admin/users', tag: 'admin', scope: 'admin', summary: 'users of a tenant (or of all, for an admin of tenant default)', query: tenantQuery, response: { description: 'the users', schema: z.object({ users: z.array(userView) }) } },
  {
    method: 'post', path: '/api/v1/admin/users', tag: 'admin', scope: 'admin', summary: 'create a user', body: userBody, status: 201,
    response: { description: 'the user', schema: z.object({ user: userView }) }, errors: { 404: 'no such tenant', 409: 'a user with this id exists' },
  },
  { method: 'get', path: '/api/v1/admin/keys', tag: 'admin', scope: 'admin', summary: 'API keys, never their secrets', query: tenantQuery, response: { description: 'the keys', schema: z.object({ keys: z.array(keyView) }) } },
  {
    method: 'post', path: '/api/v1/admin/keys', tag: 'admin', scope: 'admin', summary: 'create an API key; the secret is in the answer once', body: keyBody, status: 201,
    description: 'The first key created on an open master also creates a bootstrap admin key (`admin_key`), so the master is not locked out.',
    response: { description: 'the key and its secret', schema: keyWithSecret.extend({ admin_key: z.object({ id: z.string(), secret: z.string() }).optional() }) },
    errors: { 404: 'no such tenant or user' },
  },
  { method: 'post', path: '/api/v1/admin/keys/:id/rotate', tag: 'admin', scope: 'admin', summary: 'a new secret for a key; the old one stops working now', response: { description: 'the key and its new secret', schema: keyWithSecret } },
  { method: 'post', path: '/api/v1/admin/keys/:id/revoke', tag: 'admin', scope: 'admin', summary: 'revoke a key: refused everywhere at once, open connections dropped', response: { description: 'the key', schema: z.object({ key: keyView }) } },
  { method: 'get', path: '/api/v1/admin/limits', tag: 'admin', scope: 'admin', summary: 'the rate and concurrency limits in force', response: { description: 'the rules', schema: limitsView }, errors: FORBIDDEN_ADMIN },
  { method: 'put', path: '/api/v1/admin/limits', tag: 'admin', scope: 'admin', summary: 'replace the limits (kept in the data dir until DELETE)', body: limitsConfig, response: { description: 'the rules', schema: limitsView }, errors: FORBIDDEN_ADMIN },
  { method: 'delete', path: '/api/v1/admin/limits', tag: 'admin', scope: 'admin', summary: 'back to the limits of TASKWIRE_RATE_LIMITS', response: { description: 'the rules', schema: limitsView }, errors: FORBIDDEN_ADMIN },
  { method: 'get', path: '/api/v1/admin/tenants/:tenant/limits', tag: 'admin', scope: 'admin', summary: "a tenant's own limits (set by its admin) and the cluster admin's caps", description: TENANT_ADMIN, response: { description: 'the rules', schema: tenantLimitsView }, errors: FORBIDDEN_ADMIN },
  { method: 'put', path: '/api/v1/admin/tenants/:tenant/limits', tag: 'admin', scope: 'admin', summary: "replace a tenant's own limits, within the cluster admin's caps", description: TENANT_ADMIN, body: tenantLimitsBody, response: { description: 'the rules', schema: tenantLimitsView }, errors: FORBIDDEN_ADMIN },
  { method: 'delete', path: '/api/v1/admin/tenants/:tenant/limits', tag: 'admin', scope: 'admin', summary: "remove a tenant's own limits", description: TENANT_ADMIN, response: { description: 'the rules', schema: tenantLimitsView }, errors: FORBIDDEN_ADMIN },
  {
    method: 'get', path: '/api/v1/usage', tag: 'billing', scope: 'any', summary: 'usage and cost of a day or a month, by tenant, key, kind and model (a user key: its own tenant)', query: reportQuery,
    response: { description: 'the report (format=csv: its lines as CSV)', schema: usageReport }, errors: { 403: 'another tenant than the key\'s own' },
  },
  { method: 'get', path: '/api/v1/admin/prices', tag: 'billing', scope: 'admin', summary: 'every price table version and the one in force', response: { description: 'the versions', schema: z.object({ versions: z.array(priceVersion), in_force: z.number().int().nullable() }) }, errors: FORBIDDEN_ADMIN },
  { method: 'put', path: '/api/v1/admin/prices', tag: 'billing', scope: 'admin', summary: 'add a price table version (in force from effective_from)', body: priceTableBody, response: { description: 'the new version', schema: priceVersion }, errors: FORBIDDEN_ADMIN },
  { method: 'get', path: '/api/v1/admin/budgets', tag: 'billing', scope: 'admin', summary: 'the budgets (soft: an event, hard: submissions refused)', response: { description: 'the budgets', schema: budgetsConfig }, errors: FORBIDDEN_ADMIN },
  { method: 'put', path: '/api/v1/admin/budgets', tag: 'billing', scope: 'admin', summary: 'replace the budgets', body: budgetsConfig, response: { description: 'the budgets', schema: budgetsConfig }, errors: FORBIDDEN_ADMIN },
  { method: 'get', path: '/api/v1/admin/tenants/:tenant/budgets', tag: 'billing', scope: 'admin', summary: "a tenant's own budgets (set by its admin) and the cluster admin's caps", description: TENANT_ADMIN, response: { description: 'the budgets', schema: tenantBudgetsView }, errors: FORBIDDEN_ADMIN },
  { method: 'put', path: '/api/v1/admin/tenants/:tenant/budgets', tag: 'billing', scope: 'admin', summary: "replace a tenant's own budgets, within the cluster admin's caps", description: TENANT_ADMIN, body: tenantBudgetsBody, response: { description: 'the budgets', schema: tenantBudgetsView }, errors: FORBIDDEN_ADMIN },
];
