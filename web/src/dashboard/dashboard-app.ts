/**
 * The dashboard shell: asks for an API key when the master wants one
 * (shared with the chat: same localStorage entry), backfills the charts from
 * the outbox, follows the event stream (resuming with Last-Event-ID), and
 * routes `#/`, `#/workers`, `#/workers/<id>`, `#/queue`, `#/tasks?…`, `#/tasks/<id>`,
 * `#/settings`, `#/usage`, `#/access`, `#/limits` (the last two: admins only,
 * admin-access.ts), `#/batches`, `#/batches/<id>` to their pages.
 */
import { askForAccessKey, type AccessKeyStore } from '../access-key.js';
import { required } from '../dom.js';
import { Api, ApiError, UnauthorizedError } from './api.js';
import type { DashboardContext, DashboardPage } from './context.js';
import { parseRoute, type Route } from './routes.js';
import { EventFollower, type FollowState } from './event-follower.js';
import { COUNTED_TYPES, eventsPath, LiveStats, type StreamEvent } from './live-stats.js';
import { noteFailure, OverviewPage } from './overview-page.js';
import { TaskPage } from './task-page.js';
import { TasksPage } from './tasks-page.js';
import type { ClusterView, StoredEventView } from './types.js';
import { QueuePage } from './queue-page.js';
import { SettingsPage } from './settings-page.js';
import { WorkerPage } from './worker-page.js';
import { WorkersPage } from './workers-page.js';
import { AccessPage } from './access-page.js';
import { probeAdmin, showAdminNav } from './admin-access.js';
import { LimitsPage } from './limits-page.js';
import { UsagePage } from './usage-page.js';
import { BatchPage } from './batch-page.js';
import { BatchesPage } from './batches-page.js';

/** Events read back on load to fill the charts (the newest of them). */
const BACKFILL = 5000;

const STATE_LABELS: Record<FollowState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  unauthorized: 'Needs an API key',
  stopped: 'Stopped',
};

export class DashboardApp implements DashboardContext {
  readonly api: Api;
  readonly stats = new LiveStats();
  private page: DashboardPage | undefined;
  private follower: EventFollower | undefined;
  private kinds: string[] = [];
  private readonly view = required('view', HTMLElement);
  private readonly notice = required('notice', HTMLParagraphElement);
  private readonly streamState = required('stream-state', HTMLDivElement);
  private readonly streamLabel = required('stream-label', HTMLSpanElement);
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly keys: AccessKeyStore) {
    this.api = new Api(keys);
    window.addEventListener('hashchange', () => this.route());
  }

  async start(): Promise<void> {
    this.follower?.stop();
    this.follower = undefined;
    let lastId: number;
    try {
      // The dashboard's routes need the operate scope: a cheap one of them says whether this key has it
      // (the event stream alone would not: a user key may follow its own tasks' events there).
      await this.api.get('/api/v1/dashboard/queue');
      lastId = (await this.api.get<{ last_id: number }>('/api/v1/events?follow=false&since=0&limit=1')).last_id;
    } catch (err) {
      // A tenant's user key may not see the dashboard, but may read its own tenant's usage: that page only, without the stream.
      if (err instanceof ApiError && err.status === 403 && parseRoute(location.hash).page === 'usage') {
        this.showState('stopped', 'this key may read its usage only');
        this.route();
        return;
      }
      this.refused(err);
      return;
    }
    void probeAdmin(this.api).then(showAdminNav);
    await this.backfill(lastId).catch(() => undefined);
    this.kinds = (await this.api.get<ClusterView>('/api/v1/cluster').catch(() => undefined))?.kinds ?? [];
    this.follower = new EventFollower({
      path: '/api/v1/events',
      headers: () => this.api.headers(),
      lastId,
      onEvent: (id, _type, data) => this.onEvent(id, data as StreamEvent),
      onState: (state, detail) => this.showState(state, detail),
    });
    this.route(); // sets the follower's path for the page
    this.follower.start();
  }

  /** A refused key (401) or one without the operator role (403): ask for another. */
  private refused(err: unknown): void {
    const unauthorized = err instanceof UnauthorizedError;
    const forbidden = err instanceof ApiError && err.status === 403;
    if (!unauthorized && !forbidden) {
      this.notify(`Cannot reach the master: ${err instanceof Error ? err.message : String(err)}`, 'error');
      setTimeout(() => void this.start(), 3000);
      return;
    }
    const rejected = this.keys.get() !== undefined;
    this.keys.set(undefined);
    this.showState('unauthorized');
    askForAccessKey(document, this.keys, () => void this.start(), rejected);
    if (forbidden) {
      const label = document.getElementById('access-key-label');
      if (label) label.textContent = 'That key may not see the dashboard: enter an operator or admin key:';
    }
  }

  private async backfill(lastId: number): Promise<void> {
    const since = Math.max(0, lastId - BACKFILL);
    const q = new URLSearchParams({ follow: 'false', since: String(since), limit: String(BACKFILL), type: COUNTED_TYPES.join(',') });
    const { events } = await this.api.get<{ events: StoredEventView[] }>(`/api/v1/events?${q}`);
    for (const e of events) {
      if (e.id > lastId) break;
      this.stats.add(e as unknown as StreamEvent, e.id);
      noteFailure({ ...(e as unknown as StreamEvent), id: e.id });
    }
  }

  private onEvent(id: number, e: StreamEvent): void {
    this.stats.add(e, id);
    noteFailure({ ...e, id });
    this.page?.onEvent?.({ ...e, id });
  }

  private showState(state: FollowState, detail?: string): void {
    this.streamState.dataset['state'] = state;
    this.streamLabel.textContent = STATE_LABELS[state];
    this.streamState.title = detail ?? '';
  }

  navigate(hash: string): void {
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  notify(message: string, kind: 'error' | 'info' = 'info'): void {
    this.notice.textContent = message;
    this.notice.dataset['kind'] = kind;
    this.notice.hidden = false;
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice.hidden = true), kind === 'error' ? 15_000 : 5000);
  }

  private pageFor(r: Route, onCluster: (c: ClusterView) => void): DashboardPage {
    switch (r.page) {
      case 'workers':
        return new WorkersPage(this.view, this);
      case 'worker':
        return new WorkerPage(this.view, this, r.id ?? '');
      case 'queue':
        return new QueuePage(this.view, this, r.params);
      case 'tasks':
        return new TasksPage(this.view, this, r.params, () => this.kinds);
      case 'task':
        return new TaskPage(this.view, this, r.id ?? '');
      case 'settings':
        return new SettingsPage(this.view, this);
      case 'usage':
        return new UsagePage(this.view, this, r.params);
      case 'access':
        return new AccessPage(this.view, this);
      case 'limits':
        return new LimitsPage(this.view, this);
      case 'batches':
        return new BatchesPage(this.view, this, r.params);
      case 'batch':
        return new BatchPage(this.view, this, r.id ?? '');
      case 'overview':
        return new OverviewPage(this.view, this, onCluster);
    }
  }

  private route(): void {
    this.page?.dispose?.();
    const r = parseRoute(location.hash);
    // A detail page marks its list's link.
    const nav = r.page === 'task' ? 'tasks' : r.page === 'worker' ? 'workers' : r.page === 'batch' ? 'batches' : r.page;
    for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
      const current = a.dataset['nav'] === nav;
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    this.view.replaceChildren();
    const onCluster = (c: ClusterView) => (this.kinds = c.kinds);
    this.page = this.pageFor(r, onCluster);
    const page = this.page;
    // The overview follows only what it draws; a page that wants more reconnects for it (from the last id).
    this.follower?.setPath(eventsPath(page.eventTypes));
    this.load(page, 0);
  }

  /**
   * A page's first load; one that fails for another reason than a refusal
   * (the master restarting, a request cut, a 5xx) is tried again, 1, 2, 4 … 10 s
   * later, while the page is shown: a page that draws on events only would
   * otherwise stay empty until the next event.
   */
  private load(page: DashboardPage, failures: number): void {
    void page.refresh().catch((err: unknown) => {
      if (page !== this.page) return;
      if (err instanceof UnauthorizedError || (err instanceof ApiError && err.status === 403)) return this.refused(err);
      this.notify(err instanceof Error ? err.message : String(err), 'error');
      if (err instanceof ApiError && err.status < 500) return; // the request is refused as it is: asking again would not change it
      setTimeout(() => {
        if (page === this.page) this.load(page, failures + 1);
      }, Math.min(10_000, 1000 * 2 ** failures));
    });
  }
}
