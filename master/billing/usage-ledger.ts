/**
 * The usage ledger: listens to the task event stream (never called by the
 * core) and writes one row per ended attempt, priced at the version in force:
 *   task.assigned / task.started  remember the attempt's worker and start
 *   task.retried                  the ended attempt's row (outcome `retried`)
 *   task.succeeded/failed/...     the last attempt's row
 * Every row has the tokens that attempt's worker reported (a failed attempt's
 * too, streamed answers included: the usage rides on the attempt's final
 * report); an attempt that reported none (lost, or ended by the master before
 * its worker reported) has 0 tokens, never an earlier attempt's. The same
 * for the CPU time and memory a worker reports per attempt (cpu_us,
 * mem_mib_ms: 0 from a worker that does not measure them).
 * Idempotent on task + attempt (the store keeps the first row).
 */
import { jsonBytes } from '../../common/json-bytes.js';
import type { JsonValue } from '../../common/json-value.js';
import { FINAL_EVENT_TYPES, type TaskEvents } from '../core/task-events.js';
import type { TaskRecord } from '../core/task-record.js';
import { modelOf } from '../limits/request-cost.js';
import { type PriceTable, costOf, findPrice } from './price-table.js';
import type { UsageRow } from './usage-row.js';
import type { UsageStore } from './usage-store.js';

interface AttemptSeen {
  attempt: number;
  workerId: string | null;
  startedAtMs: number | null;
}

const bytesOf = (v: JsonValue | null | undefined): number => (v === null || v === undefined ? 0 : jsonBytes(v));

function imageOutput(result: JsonValue | null): { width: number; height: number; bytes: number } | undefined {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return undefined;
  const { width, height, bytes } = result as Record<string, unknown>;
  return typeof width === 'number' && typeof height === 'number' ? { width, height, bytes: typeof bytes === 'number' ? bytes : 0 } : undefined;
}

export class UsageLedger {
  private readonly attempts = new Map<string, AttemptSeen>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly listeners: ((row: UsageRow) => void)[] = [];

  constructor(
    readonly store: UsageStore,
    readonly prices: PriceTable,
    events: TaskEvents,
  ) {
    this.unsubscribe.push(
      events.on('task.assigned', (ev) => this.attempts.set(ev.task_id, { attempt: ev.attempt, workerId: ev.worker_id, startedAtMs: null })),
      events.on('task.started', (ev) => {
        const a = this.attempts.get(ev.task_id);
        if (a && a.attempt === ev.attempt) a.startedAtMs = ev.ts;
      }),
      events.on('task.retried', (ev, task) => {
        const a = this.attempts.get(ev.task_id);
        this.attempts.delete(ev.task_id);
        this.write(task, 'retried', ev.ts, {
          attempt: ev.attempt,
          workerId: a?.attempt === ev.attempt ? a.workerId : null,
          processingMs: a?.attempt === ev.attempt && a.startedAtMs !== null ? ev.ts - a.startedAtMs : 0,
          withResult: false,
        });
      }),
      events.on(FINAL_EVENT_TYPES, (ev, task) => {
        this.attempts.delete(ev.task_id);
        if (ev.attempt === 0) return; // never ran: no attempt to bill
        const outcome = ev.type.slice('task.'.length) as UsageRow['outcome'];
        this.write(task, outcome, ev.ts, { attempt: ev.attempt, workerId: ev.worker_id, processingMs: ev.run_ms ?? 0, withResult: true });
      }),
    );
  }

  /** Called with every row written (budgets, metrics). */
  onRow(listener: (row: UsageRow) => void): void {
    this.listeners.push(listener);
  }

  private write(task: TaskRecord, outcome: UsageRow['outcome'], atMs: number, a: { attempt: number; workerId: string | null; processingMs: number; withResult: boolean }): void {
    const owner = (task as { owner?: string | null }).owner;
    const tenant = (task as { tenant?: string }).tenant ?? 'default';
    const image = a.withResult && task.kind === 'image' ? imageOutput(task.result) : undefined;
    // The usage this attempt's worker reported (result-apply.ts marks whose it is), never an earlier attempt's.
    const usage = task.usageAttempt === a.attempt ? task.usage : null;
    const used = task.resources?.attempt === a.attempt ? task.resources : undefined;
    const model = modelOf(task.kind, task.input) ?? null;
    // One object per row (the store keeps it as it is): the cost is filled in from its own fields.
    const row: UsageRow = {
      task_id: task.id,
      attempt: a.attempt,
      tenant,
      key: owner ?? 'local',
      kind: task.kind,
      model,
      worker_id: a.workerId,
      outcome,
      tokens_in: usage?.prompt_tokens ?? 0,
      tokens_out: usage?.completion_tokens ?? 0,
      processing_ms: Math.max(0, a.processingMs),
      cpu_us: used?.cpuUs ?? 0,
      mem_mib_ms: used?.memMibMs ?? 0,
      images: image ? 1 : 0,
      megapixels: image ? (image.width * image.height) / 1e6 : 0,
      // Measured at submit (admission); walked again only for a task restored from disk.
      bytes_in: task.inputBytes ?? bytesOf(task.input),
      bytes_out: a.withResult ? bytesOf(task.result) + (image?.bytes ?? 0) : 0,
      at_ms: atMs,
      cost: 0,
      price_version: 0,
    };
    const version = this.prices.at(atMs);
    if (version) {
      row.cost = costOf(findPrice(version, task.kind, model), row);
      row.price_version = version.version;
    }
    this.store.insert(row, this.notify);
  }

  private readonly notify = (r: UsageRow): void => {
    for (const l of this.listeners) l(r);
  };

  close(): void {
    for (const u of this.unsubscribe) u();
  }
}
