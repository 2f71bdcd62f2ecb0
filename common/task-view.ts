/**
 * The public shape of a task as REST, the CLI and Socket.IO show it
 * (snake_case JSON, like the rest of the HTTP API).
 */
import type { JsonValue } from './json-value.js';

export const TASK_STATUSES = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled', 'expired']);

export interface TaskErrorView {
  code: string;
  message: string;
}

export interface TaskHistoryEntry {
  status: TaskStatus;
  at: string;
  reason?: string;
  attempt?: number;
  worker_id?: string;
}

export interface TaskTimings {
  /** Time from submit to the worker starting the (last) attempt. */
  queue_wait_ms: number | null;
  /** Time the worker spent on the last attempt. */
  processing_ms: number | null;
  /** Submit to final result. */
  total_ms: number | null;
  /** First streamed chunk after start, when the task streamed. */
  ttft_ms: number | null;
}

export interface TaskUsageView {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface TaskView {
  id: string;
  kind: string;
  status: TaskStatus;
  priority: number;
  attempt: number;
  worker_id: string | null;
  worker_language: string | null;
  created_at: string;
  finished_at: string | null;
  result: JsonValue | null;
  error: TaskErrorView | null;
  timings: TaskTimings;
  usage: TaskUsageView | null;
  history: TaskHistoryEntry[];
}

export interface WorkerView {
  id: string;
  state: 'online' | 'draining' | 'offline';
  kinds: string[];
  capacity: number;
  running: number;
  language: string;
  version: string;
  hostname: string;
  models: { kind: string; name: string; versions: string[]; ready: boolean; provider: string; execution_provider: string }[];
  labels: Record<string, string>;
  /** What it supports within its kinds (`image:format:avif`); empty: all of them. */
  features: string[];
  connected_at: string | null;
  last_seen: string;
}

export interface ClusterView {
  master_id: string;
  workers: { online: number; idle: number; busy: number; draining: number; offline: number };
  queued: number;
  running: number;
  capacity: number;
  submitted_per_s: number;
  completed_per_s: number;
  /** Task kinds online workers serve now (the chat refreshes its selector from it). */
  kinds: string[];
}
