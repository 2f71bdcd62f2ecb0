/**
 * Image batches: fan-out of one `image` task per image, fan-in of their
 * results into a manifest. The module listens to task finals (task-feed.ts);
 * the core does not know batches exist. An output is remembered under a hash
 * of input blob and chain, so an image already done (in this batch, an
 * earlier one, or in flight elsewhere) is not processed again. Failed images
 * are retried alone (`retryFailed`); succeeded ones never re-run.
 * Batches live in memory (a master restart forgets them; the blobs stay).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { NotFoundError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { ImageOp, ImageOutput } from '../../common/kinds/image.js';
import type { JsonValue } from '../../common/json-value.js';
import type { TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import { sha256Hex, type BlobStore } from '../blobs/blob-store.js';
import { onTaskFinal } from './task-feed.js';

export type ItemStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface BatchImage {
  name: string;
  blob: string;
}

interface Item extends BatchImage {
  key: string;
  taskId: string | null;
  status: ItemStatus;
  attempts: number;
  output: ImageOutput | null;
  workerId: string | null;
  ms: number | null;
  cached: boolean;
  error: { code: string; message: string } | null;
}

interface Batch {
  id: string;
  /** Who submitted it (limits and usage are charged to it). */
  caller: { owner?: string; tenant?: string };
  ops: ImageOp[];
  items: Item[];
  createdAtMs: number;
  finishedAtMs: number | null;
}

export interface BatchView {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  created_at_ms: number;
  finished_at_ms: number | null;
  counts: Record<ItemStatus, number> & { total: number };
  ops: ImageOp[];
  images: {
    name: string;
    input_blob: string;
    status: ItemStatus;
    task_id: string | null;
    attempts: number;
    cached: boolean;
    output_blob: string | null;
    bytes: number | null;
    width: number | null;
    height: number | null;
    content_type: string | null;
    ms: number | null;
    worker_id: string | null;
    error: { code: string; message: string } | null;
  }[];
}

export interface BatchServiceOptions {
  /** Priority of the image tasks (default 0). */
  priority?: number;
}

interface Derived {
  output: ImageOutput;
  worker_id: string | null;
}

/** The name of an output: hash of the input blob and the canonical chain. */
export function outputKey(blob: string, ops: readonly ImageOp[]): string {
  return sha256Hex(`${blob}\n${JSON.stringify(ops)}`);
}

export class BatchService {
  private readonly batches = new Map<string, Batch>();
  /** Unfinished items by task id (several batches may share one task). */
  private readonly byTask = new Map<string, Item[]>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly tasks: TaskService,
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: BatchServiceOptions = {},
  ) {
    this.unsubscribe = onTaskFinal(tasks, (t) => this.onFinal(t));
  }

  close(): void {
    this.unsubscribe();
  }

  async create(images: BatchImage[], ops: ImageOp[], caller: { owner?: string; tenant?: string } = {}): Promise<BatchView> {
    const batch: Batch = { id: `batch-${randomUUID()}`, caller, ops, items: [], createdAtMs: this.clock.now(), finishedAtMs: null };
    for (const img of images) {
      const item: Item = {
        ...img,
        key: outputKey(img.blob, ops),
        taskId: null,
        status: 'queued',
        attempts: 0,
        output: null,
        workerId: null,
        ms: null,
        cached: false,
        error: null,
      };
      batch.items.push(item);
      const done = await this.lookup(item.key);
      if (done) {
        Object.assign(item, { status: 'succeeded', output: done.output, workerId: done.worker_id, ms: 0, cached: true });
        continue;
      }
      await this.start(item, ops, '', caller);
    }
    this.batches.set(batch.id, batch);
    await this.tasks.store.commit();
    this.settle(batch);
    return this.view(batch);
  }

  /** Re-submits the failed images of a batch, each on its own; the others stay as they are. */
  async retryFailed(id: string): Promise<BatchView> {
    const batch = this.require(id);
    for (const item of batch.items) {
      if (item.status !== 'failed') continue;
      item.error = null;
      await this.start(item, batch.ops, `:retry-${item.attempts}`, batch.caller);
    }
    batch.finishedAtMs = null;
    await this.tasks.store.commit();
    this.settle(batch);
    return this.view(batch);
  }

  get(id: string): BatchView {
    return this.view(this.require(id));
  }

  /** The tenant that submitted batch `id` (`default` when none); NotFoundError for no batch. */
  tenantOf(id: string): string {
    return this.require(id).caller.tenant ?? 'default';
  }

  private require(id: string): Batch {
    const b = this.batches.get(id);
    if (!b) throw new NotFoundError(`no batch ${id}`);
    return b;
  }

  private async lookup(key: string): Promise<Derived | undefined> {
    const raw = await this.blobs.derived(key);
    if (!raw) return undefined;
    try {
      const d = JSON.parse(raw) as Derived;
      return (await this.blobs.has(d.output.blob)) ? d : undefined;
    } catch {
      return undefined;
    }
  }

  private async start(item: Item, ops: ImageOp[], retrySuffix = '', caller: { owner?: string; tenant?: string } = {}): Promise<void> {
    // The same image and chain in flight (another batch): share its task.
    // await: submit is synchronous today and may become async (admission).
    const { task } = await this.tasks.submit({
      kind: 'image',
      input: { blob: item.blob, ops } as unknown as JsonValue,
      priority: this.options.priority,
      idempotencyKey: `image:${item.key}${retrySuffix}`,
      owner: caller.owner,
      tenant: caller.tenant,
    });
    item.taskId = task.id;
    item.status = 'queued';
    item.attempts++;
    if (task.status === 'succeeded' || task.status === 'failed' || task.status === 'cancelled' || task.status === 'expired') {
      this.apply(item, task);
      return;
    }
    const list = this.byTask.get(task.id) ?? [];
    list.push(item);
    this.byTask.set(task.id, list);
  }

  private onFinal(task: TaskRecord): void {
    const items = this.byTask.get(task.id);
    if (!items) return;
    this.byTask.delete(task.id);
    for (const item of items) this.apply(item, task);
    if (task.status === 'succeeded' && items[0]?.output) {
      const record: Derived = { output: items[0].output, worker_id: task.workerId };
      this.blobs.link(items[0].key, JSON.stringify(record)).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not record an image output'));
    }
    for (const b of this.batches.values()) if (b.finishedAtMs === null) this.settle(b);
  }

  private apply(item: Item, task: TaskRecord): void {
    item.workerId = task.workerId;
    item.ms = task.startedAtMs !== null && task.finishedAtMs !== null ? task.finishedAtMs - task.startedAtMs : null;
    if (task.status === 'succeeded') {
      item.status = 'succeeded';
      item.output = task.result as unknown as ImageOutput;
    } else {
      item.status = 'failed';
      item.error = task.error ? { code: task.error.code, message: task.error.message } : { code: task.status.toUpperCase(), message: `task ${task.status}` };
    }
  }

  private settle(batch: Batch): void {
    if (batch.finishedAtMs === null && batch.items.every((i) => i.status === 'succeeded' || i.status === 'failed')) {
      batch.finishedAtMs = this.clock.now();
      this.log.info({ batch_id: batch.id, images: batch.items.length }, 'image batch finished');
    }
  }

  private view(batch: Batch): BatchView {
    const counts = { total: batch.items.length, queued: 0, running: 0, succeeded: 0, failed: 0 };
    const images = batch.items.map((i) => {
      let status = i.status;
      if (status === 'queued' && i.taskId) {
        const t = this.tasks.get(i.taskId);
        if (t && (t.status === 'running' || t.status === 'assigned')) status = 'running';
      }
      counts[status]++;
      const o = i.output;
      return {
        name: i.name,
        input_blob: i.blob,
        status,
        task_id: i.taskId,
        attempts: i.attempts,
        cached: i.cached,
        output_blob: o?.blob ?? null,
        bytes: o?.bytes ?? null,
        width: o?.width ?? null,
        height: o?.height ?? null,
        content_type: o?.content_type ?? null,
        ms: i.ms,
        worker_id: i.workerId,
        error: i.error,
      };
    });
    const done = batch.finishedAtMs !== null;
    return {
      id: batch.id,
      status: !done ? 'running' : counts.failed > 0 ? 'failed' : 'succeeded',
      created_at_ms: batch.createdAtMs,
      finished_at_ms: batch.finishedAtMs,
      counts,
      ops: batch.ops,
      images,
    };
  }
}
