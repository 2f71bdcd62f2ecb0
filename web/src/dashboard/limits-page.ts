/**
 * Limits (admins only): the rate limits and quotas per key and per tenant,
 * optionally per model (GET/PUT/DELETE /api/v1/admin/limits). The rules are
 * edited here and saved as one list (the master checks them and names a bad
 * field); "Back to start-up" drops the saved rules for TASKWIRE_RATE_LIMITS.
 * A tenant's admin (the cluster-wide rules refuse it) edits its own tenant's
 * rules instead (/api/v1/admin/tenants/:tenant/limits), next to the caps the
 * cluster admin set, read-only.
 */
import { h, replaceChildren } from '../dom.js';
import { errorText, isForbidden, labelled, ownTenant, refusedPanel, select, textInput } from './admin-access.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { button, row, section, table } from './view-kit.js';

const FIELDS = ['requests_per_minute', 'tokens_per_minute', 'concurrent_tasks', 'requests_per_day', 'requests_per_month', 'tokens_per_day', 'tokens_per_month'] as const;
const SHORT: Record<(typeof FIELDS)[number], string> = {
  requests_per_minute: 'Requests / min',
  tokens_per_minute: 'Tokens / min',
  concurrent_tasks: 'Concurrent',
  requests_per_day: 'Requests / day',
  requests_per_month: 'Requests / month',
  tokens_per_day: 'Tokens / day',
  tokens_per_month: 'Tokens / month',
};

type Rule = { scope: 'key' | 'tenant'; id?: string; model?: string; window_s?: number } & Partial<Record<(typeof FIELDS)[number], number>>;
interface LimitsView {
  rules: Rule[];
  default_max_tokens?: number;
  source?: string;
  /** A tenant's own rules: whose, and the cluster admin's rules that cap them. */
  tenant?: string;
  caps?: Rule[];
}

export class LimitsPage implements DashboardPage {
  private rules: Rule[] = [];
  private defaultMaxTokens: number | undefined;
  private source = '';
  /** Set: this key edits that tenant's own rules (a tenant's admin). */
  private tenant: string | undefined;
  private caps: Rule[] = [];
  private dirty = false;
  private readonly list = h('div', { id: 'limit-list' });
  private readonly state = h('p', { class: 'muted small', id: 'limits-state' });

  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: DashboardContext,
  ) {}

  private get path(): string {
    return this.tenant === undefined ? '/api/v1/admin/limits' : `/api/v1/admin/tenants/${encodeURIComponent(this.tenant)}/limits`;
  }

  async refresh(): Promise<void> {
    let v: LimitsView;
    try {
      v = await this.ctx.api.get<LimitsView>(this.path);
    } catch (err) {
      // A tenant's admin: its own tenant's rules.
      const tenant = isForbidden(err) && this.tenant === undefined ? await ownTenant(this.ctx.api) : undefined;
      if (tenant === undefined) {
        if (isForbidden(err)) return void replaceChildren(this.root, [refusedPanel('Limits', err)]);
        throw err;
      }
      this.tenant = tenant;
      v = await this.ctx.api.get<LimitsView>(this.path);
    }
    this.apply(v);
    const own = this.tenant !== undefined;
    replaceChildren(this.root, [
      section(own ? `Limits of tenant ${this.tenant}` : 'Limits per key and tenant', [
        h('p', { class: 'muted small' }, [
          own
            ? 'Your tenant\u2019s own rules, for the tenant and its keys: they hold in addition to the cluster admin\u2019s, and no value may pass a cap below (the master names the field). A key rule without an id applies to each of your keys.'
            : 'A rule without an id applies to each key (tenant) on its own; one naming an id replaces those for it. A rule with a model applies to that model\u2019s tasks in addition. Every surface answers 429 with Retry-After past a limit.',
        ]),
        this.list,
        this.state,
        h('div', { class: 'actions' }, [
          button('Save rules', () => this.save(), { id: 'save-limits' }, 'primary'),
          button(own ? 'Remove my tenant\u2019s rules' : 'Back to start-up rules', () => this.reset(), { id: 'reset-limits' }, 'ghost'),
        ]),
      ], { id: 'limits', 'data-tenant': this.tenant ?? '' }),
      ...(own ? [section('Caps set by the cluster admin', [this.capsTable()], { id: 'limit-caps' })] : []),
      section('Add a rule', [this.form()], { id: 'limit-form-panel' }),
    ]);
    this.render();
  }

  private capsTable(): HTMLElement {
    const rows = this.caps.map((r, i) => row([r.scope, r.id ?? h('span', { class: 'muted' }, ['each']), r.model ?? h('span', { class: 'muted' }, ['any']), ...FIELDS.map((f) => r[f]), r.window_s ?? null], { 'data-cap': String(i) }, ['scope', 'id', 'model', ...FIELDS, 'window']));
    return table('Caps', ['Scope', 'Id', 'Model', ...FIELDS.map((f) => SHORT[f]), 'Window (s)'], rows, 'No cap: the cluster admin set no limit for this tenant or its keys.');
  }

  private apply(v: LimitsView): void {
    this.rules = v.rules.map((r) => ({ ...r }));
    this.defaultMaxTokens = v.default_max_tokens;
    this.source = v.source ?? `tenant ${v.tenant ?? ''}\u2019s admin`;
    this.caps = v.caps ?? [];
    this.dirty = false;
  }

  private render(): void {
    const rows = this.rules.map((r, i) =>
      row(
        [r.scope, r.id ?? h('span', { class: 'muted' }, ['each']), r.model ?? h('span', { class: 'muted' }, ['any']), ...FIELDS.map((f) => r[f]), r.window_s ?? null, button('Remove', () => this.remove(i), { 'data-action': 'remove-rule', 'aria-label': `Remove rule ${i + 1}` }, 'ghost')],
        { 'data-rule': String(i), 'data-scope': r.scope, 'data-id': r.id ?? '' },
        ['scope', 'id', 'model', ...FIELDS, 'window', 'actions'],
      ),
    );
    replaceChildren(this.list, [table('Limit rules', ['Scope', 'Id', 'Model', ...FIELDS.map((f) => SHORT[f]), 'Window (s)', ''], rows, 'No limit: every key and tenant may submit without bound.')]);
    this.state.textContent = `${this.rules.length} rule${this.rules.length === 1 ? '' : 's'} · in force from ${this.source}${this.dirty ? ' · not saved yet' : ''}`;
    this.state.dataset['dirty'] = String(this.dirty);
  }

  private remove(i: number): void {
    this.rules.splice(i, 1);
    this.dirty = true;
    this.render();
  }

  private form(): HTMLElement {
    const scope = select('rule-scope', ['key', 'tenant'], 'scope');
    const id = textInput('rule-id', 'each (or key-… / tenant)');
    const model = textInput('rule-model', 'any');
    const window = h('input', { id: 'rule-window', type: 'number', min: 1, max: 3600, placeholder: '60' });
    const values = FIELDS.map((f) => h('input', { id: `rule-${f}`, type: 'number', min: 1, step: 1, 'data-field': f }));
    const add = () => {
      const rule: Rule = { scope: scope.value as Rule['scope'] };
      if (id.value.trim()) rule.id = id.value.trim();
      if (model.value.trim()) rule.model = model.value.trim();
      if (window.value) rule.window_s = Number(window.value);
      FIELDS.forEach((f, i) => {
        if (values[i]!.value) rule[f] = Number(values[i]!.value);
      });
      if (!FIELDS.some((f) => rule[f] !== undefined)) {
        this.ctx.notify('A rule sets at least one limit.', 'error');
        return;
      }
      this.rules.push(rule);
      this.dirty = true;
      for (const el of [id, model, window, ...values]) el.value = '';
      this.render();
    };
    return h('div', { class: 'filters admin-form', id: 'limit-form' }, [
      labelled('Scope', scope),
      labelled('Id', id),
      labelled('Model', model),
      ...FIELDS.map((f, i) => labelled(SHORT[f], values[i]!)),
      labelled('Window (s)', window),
      button('Add rule', add, { id: 'add-rule' }),
    ]);
  }

  private async save(): Promise<void> {
    try {
      const body = { rules: this.rules, ...(this.defaultMaxTokens !== undefined && { default_max_tokens: this.defaultMaxTokens }) };
      this.apply(await this.ctx.api.request<LimitsView>('PUT', this.path, body));
      this.ctx.notify('Limits saved: in force now.', 'info');
    } catch (err) {
      this.ctx.notify(`Save limits: ${errorText(err)}`, 'error');
    }
    this.render();
  }

  private async reset(): Promise<void> {
    try {
      this.apply(await this.ctx.api.request<LimitsView>('DELETE', this.path));
      this.ctx.notify(this.tenant === undefined ? 'Back to the start-up limits.' : 'Your tenant\u2019s rules are removed.', 'info');
    } catch (err) {
      this.ctx.notify(`Reset limits: ${errorText(err)}`, 'error');
    }
    this.render();
  }
}
