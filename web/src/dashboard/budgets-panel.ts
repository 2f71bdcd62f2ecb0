/**
 * The usage page's lower half: budgets per tenant and key (GET/PUT
 * /api/v1/admin/budgets, admins) with what each spent this day or month
 * (from the usage reports) and its state, the `budget.warning` events (a
 * tenant's key sees its tenant's), and the price table in force (GET
 * /api/v1/admin/prices, admins). A key that is not an admin's sees the
 * warnings only. A tenant's admin (the cluster-wide budgets refuse it) edits
 * its own tenant's budgets (/api/v1/admin/tenants/:tenant/budgets); the
 * cluster admin's caps are listed with their spend, read-only.
 */
import { h, replaceChildren } from '../dom.js';
import { errorText, isForbidden, labelled, ownTenant, select, textInput } from './admin-access.js';
import { UnauthorizedError } from './api.js';
import type { DashboardContext } from './context.js';
import type { StoredEventView } from './types.js';
import { type BudgetRule, budgetStatuses, money, type UsageReportView } from './usage-logic.js';
import { badge, button, row, section, table } from './view-kit.js';

interface PriceEntry {
  kind: string;
  model?: string;
  per_request?: number;
  per_1k_tokens_in?: number;
  per_1k_tokens_out?: number;
  per_second?: number;
  per_megapixel?: number;
  per_cpu_second?: number;
  per_gb_second?: number;
}
interface PricesView {
  versions: { version: number; effective_from_ms: number; currency: string; prices: PriceEntry[] }[];
  in_force: number | null;
}

export class BudgetsPanel {
  readonly element: HTMLElement;
  private readonly list = h('div', { id: 'budget-list' });
  private readonly form = h('div', { id: 'budget-form-wrap' });
  private readonly warnings = h('div', { id: 'budget-warnings' });
  private readonly prices = h('div', { id: 'price-table' });
  private rules: BudgetRule[] | undefined;
  /** Set: this key edits that tenant's own budgets (a tenant's admin); `caps`: the cluster admin's for it. */
  private tenant: string | undefined;
  private caps: BudgetRule[] = [];
  private dirty = false;
  private currency = 'USD';
  private reports: { day?: UsageReportView; month?: UsageReportView } = {};

  constructor(private readonly ctx: DashboardContext) {
    this.element = h('div', { id: 'billing' }, [
      section('Budgets', [this.list, this.form], { id: 'budgets' }),
      section('Budget warnings', [this.warnings], { id: 'budget-warnings-panel' }),
      section('Prices in force', [this.prices], { id: 'prices' }),
    ]);
  }

  async refresh(): Promise<void> {
    await Promise.all([this.loadBudgets(), this.loadWarnings(), this.loadPrices()]);
  }

  /** New usage rows: only the spend changes. */
  async refreshSpend(): Promise<void> {
    await this.loadSpend();
    this.render();
  }

  onWarning(): void {
    void this.loadWarnings().catch(() => undefined);
  }

  private async loadSpend(): Promise<void> {
    const [day, month] = await Promise.all(['day', 'month'].map((p) => this.ctx.api.get<UsageReportView>(`/api/v1/usage?period=${p}`).catch(() => undefined)));
    this.reports = { day, month };
    this.currency = month?.currency ?? day?.currency ?? this.currency;
  }

  private get path(): string {
    return this.tenant === undefined ? '/api/v1/admin/budgets' : `/api/v1/admin/tenants/${encodeURIComponent(this.tenant)}/budgets`;
  }

  private async loadBudgets(): Promise<void> {
    try {
      const get = () => this.ctx.api.get<{ budgets: BudgetRule[]; caps?: BudgetRule[] }>(this.path);
      const [cfg] = await Promise.all([
        get().catch(async (err: unknown) => {
          // A tenant's admin: its own tenant's budgets.
          const tenant = isForbidden(err) && this.tenant === undefined ? await ownTenant(this.ctx.api) : undefined;
          if (tenant === undefined) throw err;
          this.tenant = tenant;
          return get();
        }),
        this.loadSpend(),
      ]);
      this.rules = cfg.budgets.map((b) => ({ ...b }));
      this.caps = cfg.caps ?? [];
      this.dirty = false;
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      this.rules = undefined;
      replaceChildren(this.list, [h('p', { class: 'muted', id: 'budgets-refused' }, [isForbidden(err) ? 'Budgets are set by an admin: this key sees their warnings below.' : errorText(err)])]);
      replaceChildren(this.form, []);
      return;
    }
    this.render();
    replaceChildren(this.form, [this.budgetForm()]);
  }

  private render(): void {
    if (!this.rules) return;
    // A tenant's admin sees its spend against the cluster admin's caps too.
    const statuses = budgetStatuses([...this.caps, ...this.rules], this.reports.day, this.reports.month);
    const rows = statuses.map((s) => {
      const limit = s.hard ?? s.soft ?? 0;
      const pct = limit > 0 ? Math.min(100, Math.round((s.spent / limit) * 100)) : 0;
      return row(
        [s.scope, h('code', {}, [s.id]), s.named ? 'named' : 'each', s.period, s.soft === null ? null : money(s.soft, this.currency), s.hard === null ? null : money(s.hard, this.currency), h('span', {}, [h('meter', { min: 0, max: 100, value: pct, 'aria-label': 'spent' }), ` ${money(s.spent, this.currency)}`]), badge(s.state === 'ok' ? 'under' : s.state === 'warning' ? 'soft-passed' : 'exhausted', `budget-${s.state}`)],
        { 'data-scope': s.scope, 'data-id': s.id, 'data-period': s.period, 'data-state': s.state },
        ['scope', 'id', 'applies', 'period', 'soft', 'hard', 'spent', 'state'],
      );
    });
    const ruleRows = this.rules.map((b, i) =>
      row(
        [b.scope, b.id ?? h('span', { class: 'muted' }, ['each']), b.period, b.soft === undefined ? null : money(b.soft, this.currency), b.hard === undefined ? null : money(b.hard, this.currency), button('Remove', () => this.remove(i), { 'data-action': 'remove-budget', 'aria-label': `Remove budget ${i + 1}` }, 'ghost')],
        { 'data-budget': String(i) },
        ['scope', 'id', 'period', 'soft', 'hard', 'actions'],
      ),
    );
    const capRows = this.caps.map((b, i) => row([b.scope, b.id ?? h('span', { class: 'muted' }, ['each']), b.period, b.soft === undefined ? null : money(b.soft, this.currency), b.hard === undefined ? null : money(b.hard, this.currency)], { 'data-cap': String(i) }, ['scope', 'id', 'period', 'soft', 'hard']));
    replaceChildren(this.list, [
      h('p', { class: 'muted small' }, ['Soft: a budget.warning event when the spend reaches it. Hard: every submit of that tenant (key) is refused until the period ends. Spend is the ledger\u2019s cost this UTC day or month.']),
      ...(this.tenant === undefined
        ? []
        : [h('p', { class: 'muted small', id: 'budgets-tenant', 'data-tenant': this.tenant }, [`Tenant ${this.tenant}\u2019s own budgets: they hold in addition to the cluster admin\u2019s caps, and none may pass them (the master names the field). A key budget without an id applies to each of your keys.`])]),
      table('Spend against budgets', ['Scope', 'For', 'Applies', 'Period', 'Soft', 'Hard', 'Spent', 'State'], rows, this.rules.length === 0 ? 'No budget is set.' : 'No spend yet against these budgets.'),
      h('h3', { class: 'panel-sub' }, ['Budget rules']),
      table('Budget rules', ['Scope', 'Id', 'Period', 'Soft', 'Hard', ''], ruleRows, 'No budget is set.'),
      h('p', { class: 'muted small', id: 'budgets-state', 'data-dirty': String(this.dirty) }, [this.dirty ? 'Changed: not saved yet.' : 'Saved.']),
      ...(this.tenant === undefined ? [] : [h('h3', { class: 'panel-sub' }, ['Caps set by the cluster admin']), table('Budget caps', ['Scope', 'Id', 'Period', 'Soft', 'Hard'], capRows, 'No cap: the cluster admin set no budget for this tenant or its keys.')]),
    ]);
  }

  private remove(i: number): void {
    this.rules?.splice(i, 1);
    this.dirty = true;
    this.render();
  }

  private budgetForm(): HTMLElement {
    const scope = select('budget-scope', ['tenant', 'key'], 'scope');
    const id = textInput('budget-id', 'each (or a tenant / key id)');
    const period = select('budget-period', ['month', 'day'], 'period');
    const soft = h('input', { id: 'budget-soft', type: 'number', min: 0, step: 'any' });
    const hard = h('input', { id: 'budget-hard', type: 'number', min: 0, step: 'any' });
    const add = () => {
      if (!soft.value && !hard.value) {
        this.ctx.notify('A budget sets soft, hard or both.', 'error');
        return;
      }
      const b: BudgetRule = { scope: scope.value as BudgetRule['scope'], period: period.value as BudgetRule['period'] };
      if (id.value.trim()) b.id = id.value.trim();
      if (soft.value) b.soft = Number(soft.value);
      if (hard.value) b.hard = Number(hard.value);
      this.rules?.push(b);
      this.dirty = true;
      for (const el of [id, soft, hard]) el.value = '';
      this.render();
    };
    const save = async () => {
      try {
        const out = await this.ctx.api.request<{ budgets: BudgetRule[]; caps?: BudgetRule[] }>('PUT', this.path, { budgets: this.rules ?? [] });
        this.rules = out.budgets.map((b) => ({ ...b }));
        this.caps = out.caps ?? this.caps;
        this.dirty = false;
        this.ctx.notify('Budgets saved: in force now.', 'info');
      } catch (err) {
        this.ctx.notify(`Save budgets: ${errorText(err)}`, 'error');
      }
      this.render();
    };
    return h('div', { class: 'filters admin-form', id: 'budget-form' }, [
      labelled('Scope', scope),
      labelled('Id', id),
      labelled('Period', period),
      labelled(`Soft (${this.currency})`, soft),
      labelled(`Hard (${this.currency})`, hard),
      button('Add budget', add, { id: 'add-budget' }),
      button('Save budgets', save, { id: 'save-budgets' }, 'primary'),
    ]);
  }

  private async loadWarnings(): Promise<void> {
    const q = new URLSearchParams({ follow: 'false', since: '0', type: 'budget.warning', limit: '1000' });
    let events: StoredEventView[];
    try {
      events = (await this.ctx.api.get<{ events: StoredEventView[] }>(`/api/v1/events?${q}`)).events;
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      replaceChildren(this.warnings, [h('p', { class: 'muted' }, [errorText(err)])]);
      return;
    }
    const cur = (e: StoredEventView) => String(e['currency'] ?? this.currency);
    replaceChildren(this.warnings, [
      table(
        'Budget warnings, newest first',
        ['When', 'Tenant', 'Budget', 'Period', 'Spent', 'Soft', 'Hard'],
        [...events].reverse().slice(0, 200).map((e) =>
          row(
            [new Date(e.ts).toLocaleString(), String(e['tenant'] ?? ''), `${String(e['scope'])} ${String(e['id'])}`, String(e['label'] ?? e['period']), money(Number(e['spent']), cur(e)), money(Number(e['soft']), cur(e)), e['hard'] === null || e['hard'] === undefined ? null : money(Number(e['hard']), cur(e))],
            { 'data-event-id': String(e.id), 'data-tenant': String(e['tenant'] ?? ''), 'data-scope': String(e['scope']), 'data-id': String(e['id']) },
            ['when', 'tenant', 'budget', 'period', 'spent', 'soft', 'hard'],
          ),
        ),
        'No budget warning (within the event retention).',
      ),
    ]);
  }

  private async loadPrices(): Promise<void> {
    let p: PricesView;
    try {
      p = await this.ctx.api.get<PricesView>('/api/v1/admin/prices');
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      replaceChildren(this.prices, [h('p', { class: 'muted', id: 'prices-refused' }, [isForbidden(err) ? 'The price table is an admin\u2019s.' : errorText(err)])]);
      return;
    }
    const v = p.versions.find((x) => x.version === p.in_force);
    const n = (x: number | undefined) => (x === undefined ? null : String(x));
    replaceChildren(this.prices, [
      h('p', { class: 'muted small', id: 'price-version' }, [v ? `Version ${v.version} of ${p.versions.length}, in force since ${new Date(v.effective_from_ms).toLocaleString()}, in ${v.currency}.` : 'No price is set: every row costs 0.']),
      table(
        'Prices in force',
        ['Kind', 'Model', 'Per request', 'Per 1k tokens in', 'Per 1k tokens out', 'Per second', 'Per megapixel', 'Per CPU second', 'Per GB-second'],
        (v?.prices ?? []).map((e) => row([e.kind, e.model ?? null, n(e.per_request), n(e.per_1k_tokens_in), n(e.per_1k_tokens_out), n(e.per_second), n(e.per_megapixel), n(e.per_cpu_second), n(e.per_gb_second)], { 'data-kind': e.kind, 'data-model': e.model ?? '' })),
        'No price is set.',
      ),
    ]);
  }
}
