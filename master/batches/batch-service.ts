/**
 * Image batches: fan-out of one `image` task per image, fan-in of their
 * results into a manifest. The module listens to task finals (task-feed.ts);
 * the core does not know batches exist. An output is remembered under a hash
 * of input blob and chain (image-outputs.ts), so an image already done (in
 * this batch, an earlier one, or in flight elsewhere) is not processed again.
 * Failed images are retried alone (`retryFailed`); succeeded ones never re-run.
 * Batches are kept in a BatchStore (batch-store.ts: SQLite in the data dir,
 * or the PostgreSQL task store's database): `restore()` after a master
 * restart brings them back and reconciles their images with the restored
 * tasks, so progress and outputs survive.
 * Progress goes on the task event stream (batch-progress.ts); what callers
 * are shown is batch-view.ts; several masters: remote-image-tasks.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { NotFoundError, ValidationError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { ImageOp, ImageOutput } from '../../common/kinds/image.js';
import type { JsonValue } from '../../common/json-value.js';
import type { TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import type { Blobs } from '../blobs/blob-store.js';
import { onTaskFinal } from './task-feed.js';
import { MemoryBatchStore, type BatchStore, type ItemStatus, type StoredBatch, type StoredItem } from './batch-store.js';
import { BATCH_DEFAULTS, type BatchServiceOptions } from './batch-service-options.js';
import { batchView, type BatchView, type FoundBatch } from './batch-view.js';
import { listBatches, type BatchListRequest, type BatchPage } from './batch-listing.js';
import { BatchProgress } from './batch-progress.js';
import { RemoteImageTasks } from './remote-image-tasks.js';
import { ImageOutputs, outputKey } from './image-outputs.js';

export type { BatchStatus, ItemStatus } from './batch-store.js';
export type { BatchSummary, BatchView, FoundBatch } from './batch-view.js';
export type { BatchListRequest, BatchPage } from './batch-listing.js';
export { BATCH_DEFAULTS, type BatchServiceOptions } from './batch-service-options.js';
export { outputKey } from './image-outputs.js';

export interface BatchImage {
  name: string;
  blob: string;
}

type Item = StoredItem;
type Batch = StoredBatch;

const isFinal = (t: TaskRecord) => t.status === 'succeeded' || t.status === 'failed' || t.status === 'cancelled' || t.status === 'expired';

export class BatchService {
  private readonly batches = new Map<string, Batch>();
  /** Unfinished items by task id (several batches may share one task). */
  private readonly byTask = new Map<string, Item[]>();
  /** Each item's batch and index (for writing its row). */
  private readonly where = new WeakMap<Item, { batch: Batch; idx: number }>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeStarted: () => void;
  private readonly store: BatchStore;
  private readonly retentionMs: number;
  private readonly pruneTimer: NodeJS.Timeout;
  private takeOverTimer: NodeJS.Timeout | undefined;
  private takingOver = false;
  /** Several masters: followed tasks that may end on another master. */
  private readonly remote: RemoteImageTasks;
  private readonly progress: BatchProgress;
  private readonly outputs: ImageOutputs;

  constructor(
    private readonly tasks: TaskService,
    private readonly blobs: Blobs,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: BatchServiceOptions = {},
  ) {
    this.store = options.store ?? new MemoryBatchStore();
    this.retentionMs = options.retentionMs ?? BATCH_DEFAULTS.retentionMs;
    this.remote = new RemoteImageTasks(tasks, options, { onFinal: (t) => this.onFinal(t), onMoved: (id) => this.byTask.get(id)?.forEach((item) => this.emitImage(item)) });
    this.progress = new BatchProgress(tasks.events, (i) => this.liveStatus(i));
    this.outputs = new ImageOutputs(blobs, log);
    this.unsubscribe = onTaskFinal(tasks, (t) => this.onFinal(t));
    this.unsubscribeStarted = tasks.events.on('task.started', (_e, t) => this.onStarted(t));
    this.pruneTimer = setInterval(() => this.prune(), Math.min(60_000, this.retentionMs));
    this.pruneTimer.unref();
  }

  /** Forgets the batches that finished more than the retention ago (memory and store); returns how many. */
  prune(): number {
    const before = this.clock.now() - this.retentionMs;
    const gone: string[] = [];
    for (const b of this.batches.values()) if (b.finishedAtMs !== null && b.finishedAtMs < before) gone.push(b.id);
    for (const id of gone) this.batches.delete(id);
    this.store.remove(gone);
    if (gone.length > 0) this.log.info({ pruned: gone.length }, 'pruned finished image batches past their retention');
    return gone.length;
  }

  /** Stops listening, writes what is pending and closes the store. */
  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    clearInterval(this.takeOverTimer);
    this.remote.close();
    this.unsubscribe();
    this.unsubscribeStarted();
    await this.store.close();
  }

  /**
   * After a master restart (the tasks restored first): the kept batches come
   * back; an unfinished image follows its task again, takes the outcome of a
   * task that finished before the restart, or is started again when its task
   * is gone. Returns how many batches and unfinished images it restored.
   */
  async restore(): Promise<{ batches: number; unfinished: number }> {
    let unfinished = 0;
    for (const batch of await this.store.load()) {
      if (batch.master !== undefined && batch.master !== this.options.master) continue; // another master's: it follows it
      // Several masters, a batch with no holder (from a single master's store): one master takes it over, not every one.
      if (batch.master === undefined && this.options.master !== undefined && this.store.takeOver) continue;
      unfinished += await this.hold(batch, ':restart');
    }
    this.prune();
    await this.store.flush();
    const every = this.options.takeOverEveryMs ?? BATCH_DEFAULTS.takeOverEveryMs;
    if (this.options.master !== undefined && this.store.takeOver && every > 0 && !this.takeOverTimer) {
      this.takeOverTimer = setInterval(() => void this.takeOver(), every);
      this.takeOverTimer.unref();
    }
    return { batches: this.batches.size, unfinished };
  }

  /**
   * Several masters: takes over the unfinished batches of masters gone for
   * good (no live lease) and follows them as after a restart; also asks the
   * store about followed tasks that may have ended elsewhere (in case their
   * final's notice was missed). Returns how many batches it took over.
   */
  async takeOver(): Promise<number> {
    if (this.takingOver || this.options.master === undefined || !this.store.takeOver) return 0;
    this.takingOver = true;
    try {
      const taken = await this.store.takeOver(this.options.master);
      for (const batch of taken) {
        const from = batch.master;
        batch.master = this.options.master;
        const unfinished = await this.hold(batch, ':takeover');
        this.log.warn({ batch_id: batch.id, from, unfinished }, 'took over the image batch of a master gone for good');
      }
      await this.remote.recheck(); // a bounded round, so a big batch costs a few reads a round
      if (taken.length > 0) await this.store.flush();
      return taken.length;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'looking for image batches to take over failed (tried again)');
      return 0;
    } finally {
      this.takingOver = false;
    }
  }

  /**
   * Holds a kept batch here (after a restart, or taken over): an unfinished
   * image follows its task again, takes the outcome of a task that ended,
   * or is started again (`retry` names the new task's idempotency key) when
   * its task is gone. Returns how many images were unfinished.
   */
  private async hold(batch: Batch, retry: string): Promise<number> {
    let unfinished = 0;
    this.batches.set(batch.id, batch);
    // Every header once: fills the listing's columns of rows kept before they existed (and the memory index).
    this.store.put(batch, []);
    batch.items.forEach((item, idx) => this.where.set(item, { batch, idx }));
    for (const item of batch.items) {
      if (item.status === 'succeeded' || item.status === 'failed') continue;
      unfinished++;
      if (item.taskId) await this.tasks.store.preload?.({ id: item.taskId });
      const task = item.taskId ? this.tasks.get(item.taskId) : undefined;
      const done = task ? undefined : await this.outputs.lookup(item.key);
      if (done) {
        Object.assign(item, { status: 'succeeded', output: done.output, workerId: done.worker_id, ms: item.ms ?? 0 });
      } else if (!task) {
        await this.start([item], batch.ops, (i) => `${retry}-${i.attempts}`, batch.caller);
      } else if (isFinal(task)) {
        this.apply(item, task);
      } else {
        this.follow(task.id, item);
        this.remote.follow(task.id);
        continue; // unchanged: still queued or running on its task
      }
      this.touch(item);
      this.emitImage(item);
    }
    this.settle(batch);
    return unfinished;
  }
  /** Queues the item's row (and its batch's header) for the next write. */
  private touch(item: Item): void {
    const w = this.where.get(item);
    if (w) this.store.put(w.batch, [w.idx]);
  }

  private follow(taskId: string, item: Item): void {
    const list = this.byTask.get(taskId) ?? [];
    list.push(item);
    this.byTask.set(taskId, list);
  }

  /**
   * Makes a batch: an image whose output is known is done at once, the
   * others' tasks are submitted together, all or none (a refused image is a
   * ValidationError naming `<itemField>.<index>`: `images.2.input`).
   */
  async create(images: BatchImage[], ops: ImageOp[], caller: { owner?: string; tenant?: string } = {}, itemField = 'images'): Promise<BatchView> {
    const batch: Batch = { id: `batch-${randomUUID()}`, caller, ops, items: [], createdAtMs: this.clock.now(), finishedAtMs: null, ...(this.options.master !== undefined && { master: this.options.master }) };
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
      this.where.set(item, { batch, idx: batch.items.length });
      batch.items.push(item);
      const done = await this.outputs.lookup(item.key);
      if (done) {
        await this.blobs.grant(done.output.blob, caller.tenant ?? 'default'); // produced for another batch, maybe another tenant's: now this one's too
        Object.assign(item, { status: 'succeeded', output: done.output, workerId: done.worker_id, ms: 0, cached: true });
      }
    }
    const starts = batch.items.filter((i) => !i.cached);
    await this.start(starts, ops, () => '', caller, (k) => `${itemField}.${batch.items.indexOf(starts[k]!)}`);
    this.batches.set(batch.id, batch);
    // The images that are done already (output known, or their shared task ended), once the batch is known.
    for (const item of batch.items) if (item.status === 'succeeded' || item.status === 'failed') this.emitImage(item);
    this.settle(batch);
    this.store.put(batch, 'all');
    await Promise.all([this.tasks.store.commit(), this.store.flush()]);
    return this.view(batch);
  }

  /** Re-submits the failed images of a batch, each on its own; the others stay as they are. */
  async retryFailed(id: string): Promise<BatchView> {
    const batch = this.require(id);
    const failed = batch.items.filter((i) => i.status === 'failed');
    const errors = failed.map((i) => i.error);
    for (const item of failed) item.error = null;
    try {
      await this.start(failed, batch.ops, (i) => `:retry-${i.attempts}`, batch.caller);
    } catch (err) {
      failed.forEach((item, k) => (item.error = errors[k]!)); // refused: as it was
      throw err;
    }
    for (const item of failed) this.emitImage(item);
    batch.finishedAtMs = null;
    this.settle(batch);
    this.store.put(batch, 'all');
    await Promise.all([this.tasks.store.commit(), this.store.flush()]);
    return this.view(batch);
  }

  get(id: string): BatchView {
    return this.view(this.require(id));
  }

  /** Batch `id`, held here or (several masters) by another master, as last written there; undefined when there is none. */
  async find(id: string): Promise<FoundBatch | undefined> {
    const held = this.batches.get(id);
    const b = held ?? (await this.store.read?.([id]))?.[0];
    if (!b) return undefined;
    return { view: this.view(b), tenant: b.caller.tenant ?? 'default', owner: b.caller.owner ?? null, elsewhere: held ? null : (b.master ?? null) };
  }

  /** A page of batches, newest first, from the store's index (batch-listing.ts). */
  list(r: BatchListRequest): Promise<BatchPage> {
    return listBatches(this.store, this.batches, (b) => this.view(b), r);
  }

  private require(id: string): Batch {
    const b = this.batches.get(id);
    if (!b) throw new NotFoundError(`no batch ${id}`);
    return b;
  }

  /**
   * Submits the items' tasks in one go, all or none (so a refused image, say
   * of a format no worker reads, leaves no task of the others behind); the
   * same image and chain in flight (another batch, or twice in this one)
   * shares its task by the idempotency key. `fieldOf(k)` names the k-th item
   * in a refusal.
   */
  private async start(items: Item[], ops: ImageOp[], suffixOf: (item: Item) => string, caller: { owner?: string; tenant?: string } = {}, fieldOf?: (k: number) => string): Promise<void> {
    if (items.length === 0) return;
    const reqs = items.map((item) => ({
      kind: 'image',
      input: { blob: item.blob, ops } as unknown as JsonValue,
      priority: this.options.priority,
      idempotencyKey: `image:${item.key}${suffixOf(item)}`,
      owner: caller.owner,
      tenant: caller.tenant,
    }));
    let out: { task: TaskRecord }[];
    try {
      out = await this.tasks.submitMany(reqs);
    } catch (err) {
      const m = fieldOf && err instanceof ValidationError ? /^tasks\.(\d+)(.*)$/.exec(err.field) : null;
      throw m ? new ValidationError(`${fieldOf!(Number(m[1]))}${m[2]}`, (err as ValidationError).detail) : err;
    }
    out.forEach(({ task }, k) => {
      const item = items[k]!;
      item.taskId = task.id;
      item.status = 'queued';
      item.attempts++;
      if (isFinal(task)) {
        this.apply(item, task);
        return;
      }
      this.follow(task.id, item);
      this.remote.follow(task.id); // several masters: it may be pooled and run by another
    });
  }

  private onFinal(task: TaskRecord): void {
    const items = this.byTask.get(task.id);
    if (!items) return;
    this.byTask.delete(task.id);
    this.remote.end(task.id);
    for (const item of items) {
      this.apply(item, task);
      this.touch(item);
      this.emitImage(item);
    }
    if (task.status === 'succeeded' && items[0]?.output) {
      this.outputs.remember(items[0].key, { output: items[0].output, worker_id: task.workerId });
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
      this.store.put(batch, []);
      this.log.info({ batch_id: batch.id, images: batch.items.length }, 'image batch finished');
      if (this.batches.has(batch.id)) this.progress.finished(batch, batch.finishedAtMs - batch.createdAtMs);
    }
  }

  /** An image of a followed task started: its batches' `batch.image` running events. */
  private onStarted(task: TaskRecord): void {
    const items = this.byTask.get(task.id);
    if (!items || !this.tasks.events.wants('batch.image')) return;
    for (const item of items) this.emitImage(item);
  }

  /** The `batch.image` event of an item as it is now, for a batch this master holds (batch-progress.ts). */
  private emitImage(item: Item): void {
    const w = this.where.get(item);
    if (!w || !this.batches.has(w.batch.id)) return;
    this.progress.image(item, w.batch, w.idx);
  }

  /** An item's status with `running` read off its task (the row keeps queued until the task ends). */
  private liveStatus(i: Item): { status: ItemStatus; runningOn: string | null } {
    if (i.status === 'queued' && i.taskId) {
      const t = this.tasks.get(i.taskId);
      if (t && (t.status === 'running' || t.status === 'assigned')) return { status: 'running', runningOn: t.workerId };
      const elsewhere = this.remote.runningOn(i.taskId);
      if (elsewhere !== undefined) return { status: 'running', runningOn: elsewhere };
    }
    return { status: i.status, runningOn: null };
  }

  private view(batch: Batch): BatchView {
    return batchView(batch, (i) => this.liveStatus(i));
  }
}
