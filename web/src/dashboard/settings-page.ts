/**
 * Cluster settings that are safe to change at run time, and their audit:
 * placement strategy per scope and slow start (GET/PUT /api/v1/placement,
 * PUT /api/v1/placement/:scope), the autoscaling pools (GET
 * /api/v1/autoscaling, read only here) with the autoscaler's recent
 * decisions (`autoscale.decision` events: pool, from, to, why), and every
 * change as the master recorded it (`config.changed` events from the durable
 * stream: who, when, what, before, after). Cluster operators and admins only.
 */
import { h, replaceChildren } from '../dom.js';
import { ApiError, UnauthorizedError } from './api.js';
import type { DashboardContext, DashboardPage } from './context.js';
import type { StoredEventView } from './types.js';
import { button, jsonBlock, row, section, table } from './view-kit.js';

interface PlacementView {
  strategies: Record<string, string>;
  slow_start_ms: number;
  known: string[];
}

export class SettingsPage implements DashboardPage {
  private readonly placement = h('div', { id: 'placement' });
  private readonly pools = h('div', { id: 'autoscaling' });
  private readonly audit = h('div', { id: 'audit' });
  private readonly decisions = h('div', { id: 'autoscale-decisions' });
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    root: HTMLElement,
    private readonly ctx: DashboardContext,
  ) {
    replaceChildren(root, [
      section('Placement', [this.placement]),
      section('Autoscaling pools', [this.pools, this.decisions]),
      section('Audit log of setting changes', [this.audit], { id: 'audit-panel' }),
    ]);
  }

  async refresh(): Promise<void> {
    await Promise.all([this.loadPlacement(), this.loadPools(), this.loadAudit(), this.loadDecisions()]);
  }

  private async loadPlacement(): Promise<void> {
    let p: PlacementView;
    try {
      p = await this.ctx.api.get<PlacementView>('/api/v1/placement');
    } catch (err) {
      replaceChildren(this.placement, [h('p', { class: 'muted' }, [err instanceof ApiError ? err.message : String(err)])]);
      return;
    }
    const pick = (id: string, current: string | undefined) =>
      h('select', { id, 'aria-label': 'strategy' }, p.known.map((k) => h('option', { value: k, selected: k === current }, [k])));
    const rows = Object.entries(p.strategies)
      .sort(([a], [b]) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)))
      .map(([scope, strategy]) => {
        const select = pick(`strategy-${scope}`, strategy);
        return row(
          [h('code', {}, [scope]), select, button('Save', () => this.setStrategy(scope, select.value), { 'data-action': 'save-strategy' })],
          { 'data-scope': scope, 'data-strategy': strategy },
          ['scope', 'strategy', 'actions'],
        );
      });
    const scopeInput = h('input', { id: 'new-scope', placeholder: 'kind or kind:model', maxlength: 128, autocomplete: 'off' });
    const newPick = pick('new-strategy', undefined);
    const slow = h('input', { id: 'slow-start', type: 'number', min: 0, max: 3_600_000, step: 1000, value: p.slow_start_ms });
    replaceChildren(this.placement, [
      table('Placement strategy by scope', ['Scope', 'Strategy', ''], rows, 'Every scope uses the default.'),
      h('div', { class: 'filters' }, [
        h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['New scope']), scopeInput]),
        h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['Strategy']), newPick]),
        button('Set', () => this.setStrategy(scopeInput.value.trim(), newPick.value), { id: 'add-scope' }),
        h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['Slow start (ms)']), slow]),
        button('Save slow start', () => this.put('/api/v1/placement', { slow_start_ms: Number(slow.value) }, 'slow start'), { id: 'save-slow-start' }),
      ]),
    ]);
  }

  private async setStrategy(scope: string, strategy: string): Promise<void> {
    if (!scope) {
      this.ctx.notify('Name a scope (a kind, or kind:model).', 'error');
      return;
    }
    await this.put(`/api/v1/placement/${encodeURIComponent(scope)}`, { strategy }, `placement of ${scope}`);
  }

  private async put(path: string, body: unknown, what: string): Promise<void> {
    try {
      await this.ctx.api.request('PUT', path, body);
      this.ctx.notify(`Saved ${what}.`, 'info');
    } catch (err) {
      this.ctx.notify(`${what}: ${err instanceof ApiError ? err.message : String(err)}`, 'error');
    }
    await this.refresh();
  }

  private async loadPools(): Promise<void> {
    try {
      const out = await this.ctx.api.get<{ pools: unknown[] }>('/api/v1/autoscaling');
      replaceChildren(this.pools, out.pools.length === 0 ? [h('p', { class: 'muted' }, ['No autoscaling pool is configured.'])] : [jsonBlock(out.pools, 'pools')]);
    } catch (err) {
      replaceChildren(this.pools, [h('p', { class: 'muted' }, [err instanceof ApiError ? err.message : String(err)])]);
    }
  }

  private async loadAudit(): Promise<void> {
    const q = new URLSearchParams({ follow: 'false', since: '0', type: 'config.changed', limit: '1000' });
    let events: StoredEventView[];
    try {
      events = (await this.ctx.api.get<{ events: StoredEventView[] }>(`/api/v1/events?${q}`)).events;
    } catch (err) {
      // A 403 here is about this page, not the key: say so instead of asking for another key.
      if (err instanceof UnauthorizedError) throw err;
      replaceChildren(this.audit, [h('p', { class: 'muted' }, [err instanceof ApiError ? err.message : String(err)])]);
      return;
    }
    const text = (v: unknown) => (v === null || v === undefined ? '–' : typeof v === 'string' ? v : JSON.stringify(v));
    replaceChildren(this.audit, [
      table(
        'Setting changes, newest first',
        ['When', 'Who', 'Role', 'Setting', 'Scope', 'Before', 'After'],
        [...events].reverse().map((e) =>
          row([new Date(e.ts).toLocaleString(), text(e['actor']), text(e['role']), text(e['target']), text(e['scope']), text(e['before']), text(e['after'])], { 'data-event-id': String(e.id) }, ['when', 'actor', 'role', 'target', 'scope', 'before', 'after']),
        ),
        'No setting was changed (within the event retention).',
      ),
    ]);
  }

  /** The autoscaler's newest decisions (durable events), newest first. */
  private async loadDecisions(): Promise<void> {
    const q = new URLSearchParams({ follow: 'false', since: '0', type: 'autoscale.decision', limit: '1000' });
    let events: StoredEventView[];
    try {
      events = (await this.ctx.api.get<{ events: StoredEventView[] }>(`/api/v1/events?${q}`)).events;
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      replaceChildren(this.decisions, [h('p', { class: 'muted' }, [err instanceof ApiError ? err.message : String(err)])]);
      return;
    }
    const text = (v: unknown) => (v === null || v === undefined ? '–' : String(v));
    replaceChildren(this.decisions, [
      table(
        'Autoscaling decisions, newest first',
        ['When', 'Pool', 'Workers', 'Why', 'Actuator', 'Queued', 'In flight'],
        [...events].reverse().slice(0, 200).map((e) =>
          row(
            [new Date(e.ts).toLocaleString(), text(e['pool']), `${text(e['from'])} → ${text(e['to'])}`, text(e['reason']), text(e['actuator']), text(e['queued']), text(e['in_flight'])],
            { 'data-event-id': String(e.id) },
            ['when', 'pool', 'workers', 'reason', 'actuator', 'queued', 'in-flight'],
          ),
        ),
        'No autoscaling decision yet (within the event retention).',
      ),
    ]);
  }

  onEvent(e: { type: string }): void {
    if (e.type === 'autoscale.decision') {
      void this.loadDecisions().catch(() => undefined);
      return;
    }
    if (e.type !== 'config.changed' || this.timer) return;
    // Only the audit: redrawing the form would drop a choice the operator has not saved yet.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loadAudit().catch(() => undefined);
    }, 300);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
