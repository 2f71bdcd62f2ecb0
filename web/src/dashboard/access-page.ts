/**
 * Access (admins only): tenants, users and API keys over the admin routes
 * (GET/POST /api/v1/admin/tenants|users|keys, POST /admin/keys/:id/rotate|revoke).
 * A new or rotated key's secret is shown once, in this page's memory only
 * (never stored, never in a URL) until dismissed; revoking asks to confirm.
 * Each key shows its trail (created, rotated, revoked); the audit log lists
 * the master's `config.changed` events about tenants, users and keys (who,
 * when, what). A cluster admin sees every tenant, a tenant's admin its own.
 */
import { h, replaceChildren } from '../dom.js';
import { errorText, isForbidden, labelled, refusedPanel, select, textInput } from './admin-access.js';
import { UnauthorizedError } from './api.js';
import type { DashboardContext, DashboardPage } from './context.js';
import type { StoredEventView } from './types.js';
import { listField } from './usage-logic.js';
import { badge, button, row, section, shortTime, table } from './view-kit.js';

interface TenantView {
  id: string;
  name: string | null;
  created_at: string;
  keys: number;
}
interface UserView {
  tenant: string;
  id: string;
  name: string | null;
  created_at: string;
}
interface KeyView {
  id: string;
  tenant: string;
  user: string | null;
  name: string | null;
  scopes: string[];
  kinds: string[] | null;
  models: string[] | null;
  prefix: string;
  created_at: string;
  rotated_at: string | null;
  revoked_at: string | null;
  status: 'active' | 'revoked';
}

const SCOPES = ['submit', 'read', 'operate', 'admin'] as const;
const AUDITED = new Set(['tenant', 'user', 'key']);

export class AccessPage implements DashboardPage {
  private readonly secret = h('div', { id: 'new-secret-box' });
  private readonly tenants = h('div', { id: 'tenant-list' });
  private readonly users = h('div', { id: 'user-list' });
  private readonly keys = h('div', { id: 'key-list' });
  private readonly audit = h('div', { id: 'access-audit' });
  /** The key whose Revoke was clicked once (the second click confirms). */
  private confirming: string | undefined;
  private tenantIds: string[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: DashboardContext,
  ) {}

  async refresh(): Promise<void> {
    let tenants: TenantView[], users: UserView[], keys: KeyView[];
    try {
      [tenants, users, keys] = await Promise.all([
        this.ctx.api.get<{ tenants: TenantView[] }>('/api/v1/admin/tenants').then((r) => r.tenants),
        this.ctx.api.get<{ users: UserView[] }>('/api/v1/admin/users').then((r) => r.users),
        this.ctx.api.get<{ keys: KeyView[] }>('/api/v1/admin/keys').then((r) => r.keys),
      ]);
    } catch (err) {
      if (isForbidden(err)) {
        replaceChildren(this.root, [refusedPanel('Access', err)]);
        return;
      }
      throw err;
    }
    this.tenantIds = tenants.map((t) => t.id);
    if (!this.root.contains(this.keys)) {
      replaceChildren(this.root, [
        this.secret,
        section('API keys', [this.keys, this.keyForm()], { id: 'keys' }),
        section('Tenants', [this.tenants, this.tenantForm()], { id: 'tenants' }),
        section('Users', [this.users, this.userForm()], { id: 'users' }),
        section('Audit log of access changes', [this.audit], { id: 'access-audit-panel' }),
      ]);
    }
    this.renderTenants(tenants);
    this.renderUsers(users);
    this.renderKeys(keys);
    await this.loadAudit();
  }

  private renderTenants(tenants: TenantView[]): void {
    replaceChildren(this.tenants, [
      table('Tenants', ['Tenant', 'Name', 'Active keys', 'Created'], tenants.map((t) => row([h('code', {}, [t.id]), t.name, t.keys, shortTime(t.created_at)], { 'data-tenant': t.id }, ['id', 'name', 'keys', 'created'])), 'No tenant yet.'),
    ]);
    for (const id of ['new-key-tenant', 'new-user-tenant']) {
      const s = document.getElementById(id);
      if (s instanceof HTMLSelectElement) {
        const keep = s.value;
        replaceChildren(s, this.tenantIds.map((t) => h('option', { value: t, selected: t === keep }, [t])));
      }
    }
  }

  private renderUsers(users: UserView[]): void {
    replaceChildren(this.users, [
      table('Users', ['Tenant', 'User', 'Name', 'Created'], users.map((u) => row([u.tenant, h('code', {}, [u.id]), u.name, shortTime(u.created_at)], { 'data-user': `${u.tenant}/${u.id}` }, ['tenant', 'id', 'name', 'created'])), 'No user yet (keys need not name one).'),
    ]);
  }

  private renderKeys(keys: KeyView[]): void {
    keys.sort((a, b) => (a.status === b.status ? b.created_at.localeCompare(a.created_at) : a.status === 'active' ? -1 : 1));
    const rows = keys.map((k) => {
      const trail = h('ol', { class: 'key-trail' }, [
        h('li', {}, [`created ${new Date(k.created_at).toLocaleString()}`]),
        k.rotated_at ? h('li', {}, [`rotated ${new Date(k.rotated_at).toLocaleString()}`]) : null,
        k.revoked_at ? h('li', {}, [`revoked ${new Date(k.revoked_at).toLocaleString()}`]) : null,
      ]);
      const confirming = this.confirming === k.id;
      const actions = h('div', { class: 'actions' }, [
        k.status === 'active' ? button('Rotate', () => this.rotate(k.id), { 'data-action': 'rotate', 'aria-label': `Rotate ${k.id}` }) : null,
        k.status === 'active'
          ? button(confirming ? 'Confirm revoke' : 'Revoke', () => this.revoke(k.id), { 'data-action': confirming ? 'confirm-revoke' : 'revoke', 'aria-label': `Revoke ${k.id}` }, 'danger')
          : null,
      ]);
      const limits = [k.kinds ? `kinds: ${k.kinds.join(', ')}` : null, k.models ? `models: ${k.models.join(', ')}` : null].filter(Boolean).join(' · ') || 'any kind, any model';
      return row(
        [h('div', {}, [h('code', {}, [k.id]), h('div', { class: 'muted small' }, [`${k.prefix}…`])]), k.tenant, k.user, k.name, k.scopes.join(', '), limits, badge(k.status), trail, actions],
        { 'data-key-id': k.id, 'data-status': k.status },
        ['id', 'tenant', 'user', 'name', 'scopes', 'allowed', 'status', 'trail', 'actions'],
      );
    });
    replaceChildren(this.keys, [table('API keys', ['Key', 'Tenant', 'User', 'Name', 'Scopes', 'Allowed', 'Status', 'Trail', ''], rows, 'No key is stored (keys from TASKWIRE_API_KEYS are not listed).')]);
  }

  private keyForm(): HTMLElement {
    const tenant = select('new-key-tenant', this.tenantIds, 'tenant');
    const user = textInput('new-key-user', 'optional');
    const name = textInput('new-key-name', 'what it is for');
    const kinds = textInput('new-key-kinds', 'any (or: llm, echo)');
    const models = textInput('new-key-models', 'any');
    const boxes = SCOPES.map((s) => h('input', { type: 'checkbox', value: s, 'data-scope': s, checked: s === 'submit' || s === 'read' }));
    const scopes = h('fieldset', { class: 'scopes', id: 'new-key-scopes' }, [h('legend', { class: 'field-label' }, ['Scopes']), ...boxes.map((b, i) => h('label', { class: 'check' }, [b, ` ${SCOPES[i]}`]))]);
    const create = async () => {
      const body: Record<string, unknown> = { tenant: tenant.value || undefined, scopes: boxes.filter((b) => b.checked).map((b) => b.value) };
      if (user.value.trim()) body['user'] = user.value.trim();
      if (name.value.trim()) body['name'] = name.value.trim();
      const k = listField(kinds.value);
      const m = listField(models.value);
      if (k) body['kinds'] = k;
      if (m) body['models'] = m;
      try {
        const out = await this.ctx.api.post<{ key: KeyView; secret: string; admin_key?: { id: string; secret: string } }>('/api/v1/admin/keys', body);
        this.showSecret(out.key, out.secret, 'created');
        name.value = '';
        await this.refresh();
      } catch (err) {
        this.ctx.notify(`Create key: ${errorText(err)}`, 'error');
      }
    };
    return h('div', { class: 'filters admin-form', id: 'key-form' }, [
      labelled('Tenant', tenant),
      labelled('User', user),
      labelled('Name', name),
      scopes,
      labelled('Kinds', kinds),
      labelled('Models', models),
      button('Create key', create, { id: 'create-key' }, 'primary'),
    ]);
  }

  private tenantForm(): HTMLElement {
    const id = textInput('new-tenant-id', 'acme', { maxlength: 63 });
    const name = textInput('new-tenant-name', 'optional');
    const create = async () => {
      try {
        await this.ctx.api.post('/api/v1/admin/tenants', { id: id.value.trim(), ...(name.value.trim() && { name: name.value.trim() }) });
        this.ctx.notify(`Tenant ${id.value.trim()} created.`, 'info');
        id.value = '';
        name.value = '';
        await this.refresh();
      } catch (err) {
        this.ctx.notify(`Create tenant: ${errorText(err)}`, 'error');
      }
    };
    return h('div', { class: 'filters admin-form', id: 'tenant-form' }, [labelled('Tenant id', id), labelled('Name', name), button('Create tenant', create, { id: 'create-tenant' })]);
  }

  private userForm(): HTMLElement {
    const tenant = select('new-user-tenant', this.tenantIds, 'tenant');
    const id = textInput('new-user-id', 'alice', { maxlength: 63 });
    const name = textInput('new-user-name', 'optional');
    const create = async () => {
      try {
        await this.ctx.api.post('/api/v1/admin/users', { id: id.value.trim(), tenant: tenant.value || undefined, ...(name.value.trim() && { name: name.value.trim() }) });
        this.ctx.notify(`User ${id.value.trim()} created.`, 'info');
        id.value = '';
        name.value = '';
        await this.refresh();
      } catch (err) {
        this.ctx.notify(`Create user: ${errorText(err)}`, 'error');
      }
    };
    return h('div', { class: 'filters admin-form', id: 'user-form' }, [labelled('Tenant', tenant), labelled('User id', id), labelled('Name', name), button('Create user', create, { id: 'create-user' })]);
  }

  /** The secret, once: text in a read-only field, a copy button, gone when dismissed or the page is left. */
  private showSecret(key: KeyView, secret: string, what: 'created' | 'rotated'): void {
    const field = h('input', { id: 'new-secret', readonly: true, value: secret, class: 'mono secret', 'aria-label': 'the new key', spellcheck: 'false' });
    const copy = button('Copy', async () => {
      field.select();
      await navigator.clipboard?.writeText(secret).catch(() => undefined);
    }, { id: 'copy-secret' });
    const dismiss = button('I have saved it', () => replaceChildren(this.secret, []), { id: 'dismiss-secret' }, 'ghost');
    replaceChildren(this.secret, [
      section(`Key ${key.id} ${what}`, [
        h('p', { class: 'secret-warning' }, ['This secret is shown once and is not stored by the master: copy it now.']),
        h('div', { class: 'filters' }, [field, copy, dismiss]),
      ], { id: 'secret-panel', 'data-key-id': key.id }),
    ]);
  }

  private async rotate(id: string): Promise<void> {
    try {
      const out = await this.ctx.api.post<{ key: KeyView; secret: string }>(`/api/v1/admin/keys/${encodeURIComponent(id)}/rotate`);
      this.showSecret(out.key, out.secret, 'rotated');
      this.ctx.notify(`${id} rotated: the old secret no longer works.`, 'info');
    } catch (err) {
      this.ctx.notify(`Rotate ${id}: ${errorText(err)}`, 'error');
    }
    await this.refresh();
  }

  private async revoke(id: string): Promise<void> {
    if (this.confirming !== id) {
      this.confirming = id;
      await this.refresh();
      return;
    }
    this.confirming = undefined;
    try {
      await this.ctx.api.post(`/api/v1/admin/keys/${encodeURIComponent(id)}/revoke`);
      this.ctx.notify(`${id} revoked: refused everywhere from now on.`, 'info');
    } catch (err) {
      this.ctx.notify(`Revoke ${id}: ${errorText(err)}`, 'error');
    }
    await this.refresh();
  }

  private async loadAudit(): Promise<void> {
    const q = new URLSearchParams({ follow: 'false', since: '0', type: 'config.changed', limit: '1000' });
    let events: StoredEventView[];
    try {
      events = (await this.ctx.api.get<{ events: StoredEventView[] }>(`/api/v1/events?${q}`)).events.filter((e) => AUDITED.has(String(e['target'])));
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      replaceChildren(this.audit, [h('p', { class: 'muted' }, [errorText(err)])]);
      return;
    }
    const text = (v: unknown) => (v === null || v === undefined ? '–' : typeof v === 'string' ? v : JSON.stringify(v));
    replaceChildren(this.audit, [
      table(
        'Access changes, newest first',
        ['When', 'Who', 'What', 'Tenant', 'Before', 'After'],
        [...events].reverse().map((e) => row([new Date(e.ts).toLocaleString(), text(e['actor']), text(e['target']), text(e['scope']), text(e['before']), text(e['after'])], { 'data-event-id': String(e.id) }, ['when', 'actor', 'target', 'scope', 'before', 'after'])),
        'No access change recorded (within the event retention).',
      ),
    ]);
  }

  onEvent(e: { type: string }): void {
    if (e.type === 'config.changed') void this.loadAudit().catch(() => undefined);
  }
}
