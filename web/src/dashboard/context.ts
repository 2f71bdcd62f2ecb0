/** What every dashboard page gets from the shell, and what a page offers it (routes: routes.ts). */
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
  /**
   * The event types this page needs from the stream besides the ones
   * `stats` counts (COUNTED_TYPES); undefined: every type. The shell follows
   * only those (a server-side filter), so an open page costs the master and
   * the network no more than what it draws.
   */
  readonly eventTypes?: readonly string[];
  /** Called when the page is left. */
  dispose?(): void;
}
