/** Options and dependencies of TaskService (task-service.ts re-exports them). */
import type { JsonValue } from '../../common/json-value.js';
import type { PlacementStrategy } from '../scheduling/placement/placement-strategy.js';
import type { PayloadBudgetOptions } from './payload-budget.js';
import type { TaskEvents } from './task-events.js';

export interface TaskChunk {
  seq: number;
  text: string;
  data: JsonValue | null;
}

export interface TaskServiceDeps {
  /** The event stream to publish on (a fresh one by default). */
  events?: TaskEvents;
  /** Worker choice (default least-loaded). */
  placement?: PlacementStrategy;
}

export interface TaskServiceOptions {
  maxAttempts: number;
  taskTimeoutMs: number;
  queueTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxInputBytes: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a cancelled running task may take to confirm before it is closed anyway. */
  cancelGraceMs: number;
  /** Unfinished input bytes per owner and in total (defaults: 256 MiB, 1 GiB). */
  payloadBudget?: PayloadBudgetOptions;
  /** TASKWIRE_ADMISSION_DEADLINES=on: a submit without a deadline is refused when it cannot start within its queue timeout. */
  admissionDeadlines?: boolean;
  /** Queued tasks kept as full records before new ones are queued compactly (default HOT_QUEUED_MAX: core/cold-tasks.ts). */
  hotQueuedMax?: number;
}
