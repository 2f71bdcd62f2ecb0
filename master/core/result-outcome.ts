/**
 * What the result intake hands TaskService once an event from a worker has
 * passed the token check and the attempt fence: a typed outcome to apply.
 * The intake decides nothing about the task beyond "this event counts".
 */
import type { JsonValue } from '../../common/json-value.js';
import type { TaskRecord } from './task-record.js';

export interface TaskUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type ResultOutcome =
  /** Any accepted event renews the attempt's lease; a heartbeat does nothing else. */
  | { type: 'heartbeat'; task: TaskRecord; workerId: string }
  | { type: 'started'; task: TaskRecord; workerId: string; startedAtMs: number }
  | { type: 'chunk'; task: TaskRecord; workerId: string; seq: number; text: string; data: JsonValue | null }
  | {
      type: 'final';
      task: TaskRecord;
      workerId: string;
      outcome: 'succeeded' | 'cancelled' | 'failed';
      /** For a failure: another attempt may fix it (the worker said so, or the code is one the master retries). */
      retryable: boolean;
      result: JsonValue | null;
      error: { code: string; message: string } | null;
      startedAtMs: number | null;
      usage: TaskUsage | null;
      /** The attempt's CPU time (µs) and memory × time (MiB·ms) as its worker reported them (Usage.cpu_us, mem_mib_ms; 0: not reported). */
      cpuUs: number;
      memMibMs: number;
    };
