/**
 * Usage: the usage ledger's report for a day or a month (GET /api/v1/usage),
 * for one tenant or all (a tenant's key: its own), its totals, the lines per
 * tenant, key or model, and the report as CSV (fetched with the key, saved
 * from memory). Below: the budgets with this period's spend and their
 * warnings (budgets-panel.ts). The filter lives in the hash
 * (`#/usage?period=month&at=2026-12&tenant=acme&by=key`).
 */
import { h, replaceChildren } from '../dom.js';
import { errorText, labelled, select, textInput } from './admin-access.js';
import { BudgetsPanel } from './budgets-panel.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { GROUPINGS, type Grouping, cpuSeconds, gibSeconds, groupLines, money, type UsageReportView } from './usage-logic.js';
import { button, card, formatMs, row, section, table } from './view-kit.js';

const LIVE_REFRESH_MS = 2000;

const bytes = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export class UsagePage implements DashboardPage {
  private readonly cards = h('div', { class: 'cards', id: 'usage-cards' });
  private readonly lines = h('div', { id: 'usage-lines' });
  private readonly caption = h('p', { class: 'muted small', id: 'usage-range' });
  private readonly budgets: BudgetsPanel;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: DashboardContext,
    private readonly params: URLSearchParams,
  ) {
    this.budgets = new BudgetsPanel(ctx);
  }

  private query(): URLSearchParams {
    const q = new URLSearchParams();
    const period = this.params.get('period') === 'day' ? 'day' : 'month';
    q.set('period', period);
    const at = this.params.get('at');
    if (at) q.set('at', at);
    const tenant = this.params.get('tenant');
    if (tenant) q.set('tenant', tenant);
    return q;
  }

  private grouping(): Grouping {
    const by = this.params.get('by') as Grouping | null;
    return by && GROUPINGS.includes(by) ? by : 'line';
  }

  async refresh(): Promise<void> {
    if (!this.root.contains(this.lines)) {
      replaceChildren(this.root, [
        section('Usage', [this.form(), this.caption, this.cards, this.lines], { id: 'usage' }),
        this.budgets.element,
      ]);
    }
    await Promise.all([this.load(), this.budgets.refresh()]);
  }

  private form(): HTMLElement {
    const period = select('usage-period', ['month', 'day'], 'period', this.params.get('period') === 'day' ? 'day' : 'month');
    const at = textInput('usage-at', 'this period (or 2026-12 / 2026-12-02)', { value: this.params.get('at') ?? '', maxlength: 10 });
    const tenant = textInput('usage-tenant', 'all you may see', { value: this.params.get('tenant') ?? '', maxlength: 63 });
    const by = select('usage-by', [...GROUPINGS], 'group by', this.grouping());
    const apply = () => {
      const q = new URLSearchParams();
      q.set('period', period.value);
      if (at.value.trim()) q.set('at', at.value.trim());
      if (tenant.value.trim()) q.set('tenant', tenant.value.trim());
      if (by.value !== 'line') q.set('by', by.value);
      this.ctx.navigate(`#/usage?${q}`);
    };
    for (const el of [at, tenant]) el.addEventListener('keydown', (e) => e.key === 'Enter' && apply());
    const csv = button('Download CSV', () => this.download(), { id: 'usage-csv', 'data-format': 'csv' }, 'ghost');
    return h('div', { class: 'filters admin-form', id: 'usage-filter' }, [
      labelled('Period', period),
      labelled('Day or month', at),
      labelled('Tenant', tenant),
      labelled('Per', by),
      button('Show', apply, { id: 'usage-apply' }, 'primary'),
      csv,
    ]);
  }

  private async load(): Promise<void> {
    let r: UsageReportView;
    try {
      r = await this.ctx.api.get<UsageReportView>(`/api/v1/usage?${this.query()}`);
    } catch (err) {
      replaceChildren(this.lines, [h('p', { class: 'error', id: 'usage-error' }, [errorText(err)])]);
      return;
    }
    const t = r.totals;
    this.caption.textContent = `${r.period === 'day' ? 'Day' : 'Month'} ${r.label} (UTC, ${r.from} to ${r.to}) · ${r.tenant ? `tenant ${r.tenant}` : 'every tenant you may see'}`;
    replaceChildren(this.cards, [
      card('attempts', 'Attempts', String(t.attempts)),
      card('tokens-in', 'Tokens in', String(t.tokens_in)),
      card('tokens-out', 'Tokens out', String(t.tokens_out)),
      card('processing', 'Processing', formatMs(t.processing_ms)),
      card('cpu', 'CPU', cpuSeconds(t.cpu_us)),
      card('memory', 'Memory', gibSeconds(t.mem_mib_ms)),
      card('images', 'Images', String(t.images), `${Number(t.megapixels.toFixed(3))} MP`),
      card('bytes', 'Bytes in / out', `${bytes(t.bytes_in)} / ${bytes(t.bytes_out)}`),
      card('cost', 'Cost', money(t.cost, r.currency)),
    ]);
    const by = this.grouping();
    const grouped = groupLines(r.lines, by);
    const heads = by === 'line' ? ['Tenant', 'Key', 'Kind', 'Model'] : by === 'tenant' ? ['Tenant'] : by === 'key' ? ['Tenant', 'Key'] : ['Kind', 'Model'];
    const rows = grouped.map((l) => {
      const who = by === 'line' ? [l.tenant, l.key, l.kind, l.model] : by === 'tenant' ? [l.tenant] : by === 'key' ? [l.tenant, l.key] : [l.kind, l.model];
      return row(
        [...who, l.attempts, l.tokens_in, l.tokens_out, formatMs(l.processing_ms), cpuSeconds(l.cpu_us), gibSeconds(l.mem_mib_ms), l.images, Number(l.megapixels.toFixed(3)), bytes(l.bytes_in), bytes(l.bytes_out), money(l.cost, r.currency)],
        { 'data-tenant': l.tenant ?? '', 'data-key': l.key ?? '', 'data-model': l.model ?? '', 'data-cost': String(l.cost) },
        [...heads.map((x) => x.toLowerCase()), 'attempts', 'tokens-in', 'tokens-out', 'processing', 'cpu', 'memory', 'images', 'megapixels', 'bytes-in', 'bytes-out', 'cost'],
      );
    });
    replaceChildren(this.lines, [
      table('Usage by line', [...heads, 'Attempts', 'Tokens in', 'Tokens out', 'Processing', 'CPU', 'Memory', 'Images', 'MP', 'Bytes in', 'Bytes out', 'Cost'], rows, 'No usage in this period.'),
    ]);
  }

  /** The CSV, fetched with the key (never in a URL) and saved from memory. */
  private async download(): Promise<void> {
    const q = this.query();
    q.set('format', 'csv');
    try {
      const res = await fetch(`/api/v1/usage?${q}`, { headers: this.ctx.api.headers() });
      if (!res.ok) throw new Error(`usage CSV: HTTP ${res.status}`);
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'usage.csv';
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      this.ctx.notify(errorText(err), 'error');
    }
  }

  onEvent(e: { type: string }): void {
    if (e.type === 'budget.warning') this.budgets.onWarning();
    if (!['task.succeeded', 'task.failed', 'task.cancelled', 'task.expired', 'task.retried', 'budget.warning'].includes(e.type) || this.timer) return;
    // The ledger writes a row when an attempt ends: redraw the numbers at most every LIVE_REFRESH_MS.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void Promise.all([this.load(), this.budgets.refreshSpend()]).catch(() => undefined);
    }, LIVE_REFRESH_MS);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
