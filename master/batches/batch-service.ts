/**
 * Image batches: fan-out of one `image` task per image, fan-in of their
 * results into a manifest. The module listens to task finals (task-feed.ts);
 * the core does not know batches exist. An output is remembered under a hash
 * of input blob and chain, so an image already done (in this batch, an
 * earlier one, or in flight elsewhere) is not processed again. Failed images
 * are retried alone (`retryFailed`); succeeded ones never re-run.
 * Batches are kept in a BatchStore (batch-store.ts: SQLite in the data dir,
 * or the PostgreSQL task store's database): `restore()` after a master
 * restart brings them back and reconciles their images with the restored
 * tasks, so progress and outputs survive.
 * Progress goes on the task event stream: `batch.image` when an image starts,
 * ends or is queued again, `batch.finished` at fan-in (docs/EVENTS.md), each
 * with the batch's counts after it, published after the task event that
 * caused it.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { NotFoundError, ValidationError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { ImageOp, ImageOutput } from '../../common/kinds/image.js';
import type { JsonValue } from '../../common/json-value.js';
import type { TaskRecord } from '../core/task-record.js';
import type { BatchEventFields, EventSubject, TaskEventBodies } from '../core/task-events.js';
import type { TaskService } from '../core/task-service.js';
import { sha256Hex, type Blobs } from '../blobs/blob-store.js';
import { onTaskFinal } from './task-feed.js';
import type { Follower } from '../events/event-log.js';
import type { StoredEvent } from '../events/event-outbox.js';
import {
  batchStatus,
  decodeBatchCursor,
  encodeBatchCursor,
  MemoryBatchStore,
  type BatchStatus,
  type BatchStore,
  type ItemStatus,
  type StoredBatch,
  type StoredItem,
} from './batch-store.js';

export type { BatchStatus, ItemStatus } from './batch-store.js';

export interface BatchImage {
  name: string;
  blob: string;
}

type Item = StoredItem;
type Batch = StoredBatch;

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

/** A batch in the listing: what a list of batches shows, without the per-image list. */
export type BatchSummary = Omit<BatchView, 'images'>;

export interface BatchPage {
  batches: BatchSummary[];
  /** Where the next page starts, or null after the last one. */
  next_cursor: string | null;
}

export interface BatchListRequest {
  /** Scope: a tenant (undefined: every tenant) and a user key's own batches (its user's key ids). */
  tenant?: string;
  owners?: readonly string[];
  status?: BatchStatus;
  /** next_cursor of the previous page (a bad one is a ValidationError naming `cursor`). */
  cursor?: string;
  limit: number;
}

export interface BatchServiceOptions {
  /** Priority of the image tasks (default 0). */
  priority?: number;
  /** Where batches are kept (default: memory, forgotten on restart). */
  store?: BatchStore;
  /** Finished batches are forgotten this long after they finished (default 7 days, the default result TTL). */
  retentionMs?: number;
  /**
   * Several masters on one store: this master's id. Its batches carry it;
   * another master's are read from the store (as last written) but never
   * restored here, so no two masters follow, restart or write one batch.
   */
  master?: string;
  /**
   * Several masters: the task watchers, through which the final of a task
   * another master finished reaches here (a restored or taken-over batch's
   * image may run anywhere: its task went back to the shared pool).
   */
  watchers?: { watch(id: string, w: { chunk(): void; done(): void }): () => void };
  /**
   * Several masters: the shared event stream (the EventLog), followed while
   * a task is watched there, so an image another master's worker runs shows
   * `running` here (and its `batch.image`), not queued until it ends.
   */
  events?: { follow(f: Follower): () => void };
  /** Several masters: how often the unfinished batches of masters gone for good are looked for and taken over (default 5 s; 0: never). */
  takeOverEveryMs?: number;
}

/** A batch as a caller may be shown it, wherever it is held. */
export interface FoundBatch {
  view: BatchView;
  tenant: string;
  owner: string | null;
  /** Held by another master (several masters): shown as that master last wrote it; changed only through it. */
  elsewhere: string | null;
}

export const BATCH_DEFAULTS = { retentionMs: 7 * 24 * 3600_000, takeOverEveryMs: 5000 } as const;

/** The shared stream's events that move a watched image task between queued and running on another master. */
const REMOTE_START_FILTER = { types: new Set(['task.assigned', 'task.started', 'task.retried']), kind: 'image' } as const;

/** Followed tasks of other masters looked up per take-over round, in case their final's notice was missed. */
const RECHECK_PER_ROUND = 100;

const isFinal = (t: TaskRecord) => t.status === 'succeeded' || t.status === 'failed' || t.status === 'cancelled' || t.status === 'expired';

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
  /** Each item's batch and index (for writing its row). */
  private readonly where = new WeakMap<Item, { batch: Batch; idx: number }>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeStarted: () => void;
  private readonly store: BatchStore;
  private readonly retentionMs: number;
  private readonly pruneTimer: NodeJS.Timeout;
  private takeOverTimer: NodeJS.Timeout | undefined;
  private takingOver = false;
  /** Followed tasks that may end on another master, with their watch's unsubscribe (several masters). */
  private readonly remote = new Map<string, () => void>();
  /** Of those, the ones another master started, by the worker running them (from the shared event stream). */
  private readonly startedElsewhere = new Map<string, string>();
  /** The shared event stream's follower while `remote` is not empty. */
  private unfollowEvents: (() => void) | undefined;

  constructor(
    private readonly tasks: TaskService,
    private readonly blobs: Blobs,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: BatchServiceOptions = {},
  ) {
    this.store = options.store ?? new MemoryBatchStore();
    this.retentionMs = options.retentionMs ?? BATCH_DEFAULTS.retentionMs;
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
    for (const off of this.remote.values()) off();
    this.remote.clear();
    this.forgetRemote();
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
      // A bounded round (the oldest watches first; each checked goes to the back), so a big batch costs a few reads a round.
      for (const [id, off] of [...this.remote].slice(0, RECHECK_PER_ROUND)) {
        this.remote.delete(id);
        this.remote.set(id, off);
        await this.tasks.store.preload?.({ id });
        const t = this.tasks.get(id);
        if (t && isFinal(t)) this.onFinal(t);
      }
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
      const done = task ? undefined : await this.lookup(item.key);
      if (done) {
        Object.assign(item, { status: 'succeeded', output: done.output, workerId: done.worker_id, ms: item.ms ?? 0 });
      } else if (!task) {
        await this.start([item], batch.ops, (i) => `${retry}-${i.attempts}`, batch.caller);
      } else if (isFinal(task)) {
        this.apply(item, task);
      } else {
        this.follow(task.id, item);
        this.followRemote(task.id);
        continue; // unchanged: still queued or running on its task
      }
      this.touch(item);
      this.emitImage(item);
    }
    this.settle(batch);
    return unfinished;
  }

  /**
   * Several masters: a task that may end on another master (back in the
   * shared pool after its master went away) is watched there too; its final
   * is read from the store when another master announces it.
   */
  private followRemote(id: string): void {
    const watchers = this.options.watchers;
    if (!watchers || this.remote.has(id)) return;
    const done = () => {
      this.remote.get(id)?.();
      this.remote.delete(id);
      this.forgetRemote(id);
      const t = this.tasks.get(id);
      if (t && isFinal(t)) this.onFinal(t);
    };
    this.remote.set(id, () => undefined);
    this.unfollowEvents ??= this.options.events?.follow({ filter: REMOTE_START_FILTER, deliver: (batch) => this.onRemoteEvents(batch) });
    const off = watchers.watch(id, { chunk: () => undefined, done });
    if (this.remote.has(id)) this.remote.set(id, off);
    else off();
  }

  /** Drops task `id`'s remote running state (all with no id); stops following the stream once nothing is watched. */
  private forgetRemote(id?: string): void {
    if (id === undefined) this.startedElsewhere.clear();
    else this.startedElsewhere.delete(id);
    if (this.remote.size === 0 && this.unfollowEvents) {
      this.unfollowEvents();
      this.unfollowEvents = undefined;
    }
  }

  /**
   * Image task events of every master: a watched task that another master
   * assigned or started is running there; one retried is queued again. A
   * task this master runs itself is read off its own record (and its own
   * events already made the `batch.image`).
   */
  private onRemoteEvents(batch: readonly StoredEvent[]): void {
    for (const { event: e } of batch) {
      const id = 'task_id' in e ? e.task_id : null;
      if (id === null || !this.remote.has(id)) continue;
      const local = this.tasks.get(id);
      if (local && (local.status === 'running' || local.status === 'assigned' || isFinal(local))) continue;
      const was = this.startedElsewhere.get(id);
      if (e.type === 'task.retried') {
        if (was === undefined) continue;
        this.startedElsewhere.delete(id);
      } else if ('worker_id' in e && e.worker_id && was !== e.worker_id) {
        this.startedElsewhere.set(id, e.worker_id);
      } else continue;
      for (const item of this.byTask.get(id) ?? []) this.emitImage(item);
    }
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
      const done = await this.lookup(item.key);
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

  /**
   * A page of batches, newest first, from the store's index. Another
   * master's batches (several masters) are read from the store in one go; a
   * row whose batch is gone meanwhile (pruned at this moment) is left out.
   */
  async list(r: BatchListRequest): Promise<BatchPage> {
    const before = r.cursor === undefined ? undefined : decodeBatchCursor(r.cursor);
    const ids = (await this.store.list({ tenant: r.tenant, owners: r.owners, status: r.status, before, limit: r.limit + 1 }));
    const more = ids.length > r.limit;
    const shown = ids.slice(0, r.limit);
    const missing = shown.filter((id) => !this.batches.has(id));
    const read = new Map(missing.length > 0 && this.store.read ? (await this.store.read(missing)).map((b) => [b.id, b] as const) : []);
    const page = shown.flatMap((id) => {
      const b = this.batches.get(id) ?? read.get(id);
      return b ? [b] : [];
    });
    const last = page.at(-1);
    const batches = page.map((b) => {
      const { images: _images, ...summary } = this.view(b);
      return summary;
    });
    return { batches, next_cursor: more && last ? encodeBatchCursor({ createdAtMs: last.createdAtMs, id: last.id }) : null };
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
      this.followRemote(task.id); // several masters: it may be pooled and run by another
    });
  }

  private onFinal(task: TaskRecord): void {
    const items = this.byTask.get(task.id);
    if (!items) return;
    this.byTask.delete(task.id);
    const off = this.remote.get(task.id);
    if (off) (this.remote.delete(task.id), off(), this.forgetRemote(task.id));
    for (const item of items) {
      this.apply(item, task);
      this.touch(item);
      this.emitImage(item);
    }
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
      this.store.put(batch, []);
      this.log.info({ batch_id: batch.id, images: batch.items.length }, 'image batch finished');
      if (this.tasks.events.wants('batch.finished') && this.batches.has(batch.id)) {
        const status = batchStatus(batch) === 'failed' ? 'failed' : 'succeeded';
        this.publishLater('batch.finished', { ...this.batchFields(batch), status, ms: batch.finishedAtMs - batch.createdAtMs }, batch);
      }
    }
  }

  /** An image of a followed task started: its batches' `batch.image` running events. */
  private onStarted(task: TaskRecord): void {
    const items = this.byTask.get(task.id);
    if (!items || !this.tasks.events.wants('batch.image')) return;
    for (const item of items) this.emitImage(item);
  }

  /**
   * The `batch.image` event of an item as it is now (the running state read
   * off its task), for a batch this master holds. Built now, published once
   * the task event that caused it has reached every listener, so the stream
   * shows the task's event first.
   */
  private emitImage(item: Item): void {
    const w = this.where.get(item);
    if (!w || !this.batches.has(w.batch.id) || !this.tasks.events.wants('batch.image')) return;
    const { status, runningOn } = this.liveStatus(item);
    this.publishLater(
      'batch.image',
      {
        ...this.batchFields(w.batch),
        task_id: item.taskId,
        index: w.idx,
        name: item.name,
        status,
        attempt: item.attempts,
        cached: item.cached,
        worker_id: item.workerId ?? runningOn,
        output_blob: item.output?.blob ?? null,
        ms: status === 'succeeded' || status === 'failed' ? item.ms : null,
        error: item.error,
      },
      w.batch,
    );
  }

  private batchFields(batch: Batch): BatchEventFields {
    const counts = { total: batch.items.length, queued: 0, running: 0, succeeded: 0, failed: 0 };
    for (const i of batch.items) counts[this.liveStatus(i).status]++;
    return { batch_id: batch.id, owner: batch.caller.owner ?? null, counts };
  }

  private publishLater<T extends 'batch.image' | 'batch.finished'>(type: T, body: TaskEventBodies[T], batch: Batch): void {
    const subject = { tenant: batch.caller.tenant ?? 'default' } as EventSubject<T>;
    queueMicrotask(() => this.tasks.events.publish(type, body, subject));
  }

  /** An item's status with `running` read off its task (the row keeps queued until the task ends). */
  private liveStatus(i: Item): { status: ItemStatus; runningOn: string | null } {
    if (i.status === 'queued' && i.taskId) {
      const t = this.tasks.get(i.taskId);
      if (t && (t.status === 'running' || t.status === 'assigned')) return { status: 'running', runningOn: t.workerId };
      const elsewhere = this.startedElsewhere.get(i.taskId);
      if (elsewhere !== undefined) return { status: 'running', runningOn: elsewhere };
    }
    return { status: i.status, runningOn: null };
  }

  private view(batch: Batch): BatchView {
    const counts = { total: batch.items.length, queued: 0, running: 0, succeeded: 0, failed: 0 };
    const images = batch.items.map((i) => {
      const { status, runningOn } = this.liveStatus(i);
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
        worker_id: i.workerId ?? runningOn,
        error: i.error,
      };
    });
    return {
      id: batch.id,
      status: batchStatus(batch),
      created_at_ms: batch.createdAtMs,
      finished_at_ms: batch.finishedAtMs,
      counts,
      ops: batch.ops,
      images,
    };
  }
}
