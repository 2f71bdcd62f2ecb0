/** What every dashboard page gets from the shell, and what a page offers it. */
import type { Api } from './api.js';
import type { LiveStats, StreamEvent } from './live-stats.js';

export interface DashboardContext {
  api: Api;
  stats: LiveStats;
  /** Shows a message above the page (errors stay until the next success or dismissal). */
  notify(message: string, kind?: 'error' | 'info'): void;
  navigate(hash: string): void;
}

export interface DashboardPage {
  /** Loads from the server and redraws. */
  refresh(): Promise<void>;
  /** An event from the stream (already counted in `stats`). */
  onEvent?(event: StreamEvent & { id: number }): void;
  /** Called when the page is left. */
  dispose?(): void;
}

/** A route: the page name and what follows it in the hash (`#/tasks/abc?x=1`). */
export interface Route {
  page: 'overview' | 'workers' | 'worker' | 'tasks' | 'task';
  id?: string;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'workers' && parts[1]) return { page: 'worker', id: decodeURIComponent(parts[1]), params };
  if (parts[0] === 'workers') return { page: 'workers', params };
  if (parts[0] === 'tasks' && parts[1]) return { page: 'task', id: decodeURIComponent(parts[1]), params };
  if (parts[0] === 'tasks') return { page: 'tasks', params };
  return { page: 'overview', params };
}

/** Calls `fn` at most once per `ms`, trailing (bursts of events become one refresh). */
export function throttle(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const call = () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
  call.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return call;
}
