/** The shapes the dashboard reads from the master (snake_case JSON of /api/v1). */
export interface TaskError {
  code: string;
  message: string;
}

export interface TaskView {
  id: string;
  kind: string;
  status: string;
  priority: number;
  attempt: number;
  worker_id: string | null;
  worker_language: string | null;
  created_at: string;
  finished_at: string | null;
  result: unknown;
  error: TaskError | null;
  timings: { queue_wait_ms: number | null; processing_ms: number | null; total_ms: number | null; ttft_ms: number | null };
  history: { status: string; at: string; reason?: string; attempt?: number; worker_id?: string }[];
}

export interface TaskDetail {
  task: TaskView;
  input: unknown;
  input_preview: string | null;
  input_truncated: boolean;
  session_id: string | null;
  max_attempts: number;
  queue_position: number | null;
  eta_ms: number | null;
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
  models: { kind: string; name: string; ready: boolean }[];
  last_seen: string;
  load: number;
  heartbeat_age_ms: number;
  suspect: boolean;
  tasks_succeeded: number;
  tasks_failed: number;
  run_ms_mean: number | null;
  run_ms_p95: number | null;
}

export interface ClusterView {
  workers: { online: number; idle: number; busy: number; draining: number; offline: number };
  queued: number;
  running: number;
  capacity: number;
  submitted_per_s: number;
  completed_per_s: number;
  kinds: string[];
}

export interface QueueView {
  groups: { kind: string; priority: number; queued: number }[];
  total: number;
  truncated: boolean;
}

export interface StoredEventView {
  id: number;
  type: string;
  ts: number;
  [field: string]: unknown;
}

export const TASK_STATUSES = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
export const RETRYABLE = new Set(['failed', 'expired', 'cancelled']);
export const CANCELLABLE = new Set(['queued', 'assigned', 'running']);

/** One kept log line (GET /api/v1/logs). */
export interface LogLine {
  id: number;
  ts: string;
  level: string;
  source: string;
  worker_id: string | null;
  task_id?: string | null;
  msg: string;
}
