/**
 * Where image batches are kept, so a master restart keeps their progress and
 * outputs: a batch row (who, chain, times) and one row per image. Writes are
 * queued and written once per event-loop turn (the latest state of each
 * changed row); `flush()` resolves once everything queued before it is
 * durable. Implementations: memory (no data dir), SQLite (`batches.db` in the
 * data dir), PostgreSQL (the task store's database).
 */
import type { ImageOp, ImageOutput } from '../../common/kinds/image.js';

export type ItemStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** One image of a batch, as kept. */
export interface StoredItem {
  name: string;
  blob: string;
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

/** A batch, as kept. */
export interface StoredBatch {
  id: string;
  /** Who submitted it (limits and usage are charged to it). */
  caller: { owner?: string; tenant?: string };
  ops: ImageOp[];
  items: StoredItem[];
  createdAtMs: number;
  finishedAtMs: number | null;
}

/** The header of a batch as one JSON record (everything but the items). */
export function batchHeader(b: StoredBatch): string {
  return JSON.stringify({ id: b.id, caller: b.caller, ops: b.ops, createdAtMs: b.createdAtMs, finishedAtMs: b.finishedAtMs });
}

export interface BatchStore {
  /** Every kept batch, with its items in order. */
  load(): Promise<StoredBatch[]>;
  /** Queues the batch's header and the items at `items` (indexes; `all` for every one) for the next write. */
  put(batch: StoredBatch, items: 'all' | readonly number[]): void;
  /** Forgets these batches and their items (queued like writes). */
  remove(ids: readonly string[]): void;
  /** Resolves once everything queued so far is durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Rows changed since the last write, per batch. */
export class PendingBatches {
  private readonly pending = new Map<string, { batch: StoredBatch; items: Set<number> }>();

  add(batch: StoredBatch, items: 'all' | readonly number[]): void {
    const p = this.pending.get(batch.id) ?? { batch, items: new Set<number>() };
    if (items === 'all') for (let i = 0; i < batch.items.length; i++) p.items.add(i);
    else for (const i of items) p.items.add(i);
    this.pending.set(batch.id, p);
  }

  get size(): number {
    return this.pending.size;
  }

  /** A removed batch: its queued rows are not written. */
  drop(id: string): void {
    this.pending.delete(id);
  }

  /** The rows to write now (serialized at this moment: the latest state), and clears them. */
  take(): { headers: { id: string; tenant: string; createdAtMs: number; finishedAtMs: number | null; record: string }[]; items: { batchId: string; idx: number; record: string }[] } {
    const headers = [];
    const items = [];
    for (const { batch, items: idx } of this.pending.values()) {
      headers.push({ id: batch.id, tenant: batch.caller.tenant ?? 'default', createdAtMs: batch.createdAtMs, finishedAtMs: batch.finishedAtMs, record: batchHeader(batch) });
      for (const i of idx) {
        const item = batch.items[i];
        if (item) items.push({ batchId: batch.id, idx: i, record: JSON.stringify(item) });
      }
    }
    this.pending.clear();
    return { headers, items };
  }
}

/** Rebuilds batches from header and item records (items sorted by index). */
export function assembleBatches(headers: { record: string }[], items: { batch_id: string; idx: number; record: string }[]): StoredBatch[] {
  const byId = new Map<string, StoredBatch>();
  for (const h of headers) {
    const b = { ...(JSON.parse(h.record) as Omit<StoredBatch, 'items'>), items: [] as StoredItem[] };
    byId.set(b.id, b);
  }
  for (const it of [...items].sort((a, b) => a.idx - b.idx)) byId.get(it.batch_id)?.items.push(JSON.parse(it.record) as StoredItem);
  return [...byId.values()].sort((a, b) => a.createdAtMs - b.createdAtMs);
}

/** Without a data dir: nothing is kept (a restart forgets the batches). */
export class MemoryBatchStore implements BatchStore {
  async load(): Promise<StoredBatch[]> {
    return [];
  }
  put(): void {}
  remove(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
