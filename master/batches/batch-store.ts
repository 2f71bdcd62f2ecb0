/**
 * Where image batches are kept, so a master restart keeps their progress and
 * outputs: a batch row (who, chain, times) and one row per image. Writes are
 * queued and written once per event-loop turn (the latest state of each
 * changed row); `flush()` resolves once everything queued before it is
 * durable. Implementations: memory (no data dir), SQLite (`batches.db` in the
 * data dir), PostgreSQL (the task store's database).
 */
import { ValidationError } from '../../common/errors.js';
import type { ImageOp, ImageOutput } from '../../common/kinds/image.js';
import { BATCH_STATUSES, type BatchItemStatus, type BatchStatus } from '../../common/batch-view.js';

export type ItemStatus = BatchItemStatus;

/** A batch's state: running until every image ended, then failed when one failed (common/batch-view.ts). */
export { BATCH_STATUSES, type BatchStatus };

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
  /**
   * Several masters (TASKWIRE_MASTERS=multi): the master that holds it (made
   * it, follows its tasks, writes its rows). Another master reads it but
   * never restores it. Absent with one master.
   */
  master?: string;
}

/** The header of a batch as one JSON record (everything but the items). */
export function batchHeader(b: StoredBatch): string {
  return JSON.stringify({ id: b.id, caller: b.caller, ops: b.ops, createdAtMs: b.createdAtMs, finishedAtMs: b.finishedAtMs, ...(b.master !== undefined && { master: b.master }) });
}

export function batchStatus(b: StoredBatch): BatchStatus {
  if (b.finishedAtMs === null) return 'running';
  return b.items.some((i) => i.status === 'failed') ? 'failed' : 'succeeded';
}

/** Where a page of the batch listing ends: the last batch's creation time and id (newest first, id breaks ties). */
export interface BatchCursor {
  createdAtMs: number;
  id: string;
}

/** A page of the listing: newest first, after `before`, within the scope (tenant undefined: every tenant; owners: a user key's own). */
export interface BatchListQuery {
  tenant?: string;
  owners?: readonly string[];
  status?: BatchStatus;
  before?: BatchCursor;
  limit: number;
}

/** `b:<created ms>:<batch id>` as base64url: opaque to clients, checked on the way back (as the task search's cursors). */
export function encodeBatchCursor(c: BatchCursor): string {
  return Buffer.from(`b:${c.createdAtMs}:${c.id}`).toString('base64url');
}

export function decodeBatchCursor(cursor: string): BatchCursor {
  const m = /^b:(\d{1,15}):(batch-[0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new ValidationError('cursor', 'not a cursor of this listing (pass next_cursor of the previous page)');
  return { createdAtMs: Number(m[1]), id: m[2]! };
}

/** (created, id) of a before b in the listing's order (newest first)? */
const newerFirst = (a: BatchCursor, b: BatchCursor): number => b.createdAtMs - a.createdAtMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export interface BatchStore {
  /** Every kept batch, with its items in order. */
  load(): Promise<StoredBatch[]>;
  /**
   * The ids of a page of the listing, newest first (at most `q.limit`), from
   * an index: the cost is the page, not the number of batches. Reflects what
   * was `put` before the call (written first when writes are behind).
   */
  list(q: BatchListQuery): Promise<string[]>;
  /** Queues the batch's header and the items at `items` (indexes; `all` for every one) for the next write. */
  put(batch: StoredBatch, items: 'all' | readonly number[]): void;
  /** Forgets these batches and their items (queued like writes). */
  remove(ids: readonly string[]): void;
  /** Resolves once everything queued so far is durable. */
  flush(): Promise<void>;
  /** A store several masters share (PostgreSQL): these batches as last written, whoever holds them. */
  read?(ids: readonly string[]): Promise<StoredBatch[]>;
  /**
   * A store several masters share: makes `master` the holder of every
   * unfinished batch whose holder is no live member of the cluster (its
   * lease ran out) and returns them; of masters asking at once each batch
   * goes to one.
   */
  takeOver?(master: string): Promise<StoredBatch[]>;
  close(): Promise<void>;
}

/** A batch's header row: the columns the listing is indexed by, and the record. */
export interface HeaderRow {
  id: string;
  tenant: string;
  owner: string | null;
  status: BatchStatus;
  createdAtMs: number;
  finishedAtMs: number | null;
  /** The master that holds it (several masters), else null. */
  master: string | null;
  record: string;
}

/**
 * The listing's WHERE clause and parameters for SQL stores (`$n` placeholders
 * from `param(n)`): scope, status, and the row-value comparison with the
 * cursor that an index on (…, created_at, id) answers in order.
 */
export function listWhere(q: BatchListQuery, param: (n: number) => string): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => (params.push(v), param(params.length));
  if (q.tenant !== undefined) clauses.push(`tenant = ${p(q.tenant)}`);
  if (q.owners !== undefined) clauses.push(q.owners.length === 0 ? '1 = 0' : `owner IN (${q.owners.map(p).join(', ')})`);
  if (q.status !== undefined) clauses.push(`status = ${p(q.status)}`);
  if (q.before) clauses.push(`(created_at, id) < (${p(q.before.createdAtMs)}, ${p(q.before.id)})`);
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
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
  take(): { headers: HeaderRow[]; items: { batchId: string; idx: number; record: string }[] } {
    const headers = [];
    const items = [];
    for (const { batch, items: idx } of this.pending.values()) {
      headers.push({
        id: batch.id,
        tenant: batch.caller.tenant ?? 'default',
        owner: batch.caller.owner ?? null,
        status: batchStatus(batch),
        createdAtMs: batch.createdAtMs,
        finishedAtMs: batch.finishedAtMs,
        master: batch.master ?? null,
        record: batchHeader(batch),
      });
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
export function assembleBatches(headers: { record: string; master?: string | null }[], items: { batch_id: string; idx: number; record: string }[]): StoredBatch[] {
  const byId = new Map<string, StoredBatch>();
  for (const h of headers) {
    const b = { ...(JSON.parse(h.record) as Omit<StoredBatch, 'items'>), items: [] as StoredItem[] };
    // The holder's column wins over the record's: a take-over changes the column first.
    if (h.master) b.master = h.master;
    byId.set(b.id, b);
  }
  for (const it of [...items].sort((a, b) => a.idx - b.idx)) byId.get(it.batch_id)?.items.push(JSON.parse(it.record) as StoredItem);
  return [...byId.values()].sort((a, b) => a.createdAtMs - b.createdAtMs);
}

/**
 * Without a data dir: nothing is kept (a restart forgets the batches), but
 * the listing has its index: the live batches, per tenant and for all, in
 * (created, id) order; a page is a binary search for the cursor and a walk
 * back over the page (and the batches of another status or owner it skips).
 */
export class MemoryBatchStore implements BatchStore {
  /** Ascending by (created, id): the newest at the end, where a new batch is appended. */
  private readonly all: StoredBatch[] = [];
  private readonly byTenant = new Map<string, StoredBatch[]>();
  private readonly known = new Set<string>();

  async load(): Promise<StoredBatch[]> {
    return [];
  }

  put(batch: StoredBatch): void {
    if (this.known.has(batch.id)) return;
    this.known.add(batch.id);
    const tenant = batch.caller.tenant ?? 'default';
    let own = this.byTenant.get(tenant);
    if (!own) this.byTenant.set(tenant, (own = []));
    for (const list of [this.all, own]) list.splice(this.insertAt(list, batch), 0, batch);
  }

  remove(ids: readonly string[]): void {
    const gone = new Set(ids.filter((id) => this.known.delete(id)));
    if (gone.size === 0) return;
    const keep = (l: StoredBatch[]) => l.filter((b) => !gone.has(b.id));
    this.all.splice(0, this.all.length, ...keep(this.all));
    for (const [t, l] of this.byTenant) {
      const rest = keep(l);
      if (rest.length === 0) this.byTenant.delete(t);
      else this.byTenant.set(t, rest);
    }
  }

  async list(q: BatchListQuery): Promise<string[]> {
    const list = q.tenant === undefined ? this.all : (this.byTenant.get(q.tenant) ?? []);
    const out: string[] = [];
    // The first index at or after the cursor in ascending order: everything before it is older.
    let i = (q.before ? this.insertAt(list, q.before) : list.length) - 1;
    for (; i >= 0 && out.length < q.limit; i--) {
      const b = list[i]!;
      if (q.before && b.id === q.before.id) continue;
      if (q.owners !== undefined && (b.caller.owner === undefined || !q.owners.includes(b.caller.owner))) continue;
      if (q.status !== undefined && batchStatus(b) !== q.status) continue;
      out.push(b.id);
    }
    return out;
  }

  /** Where `c` goes in an ascending (created, id) list (binary search; appends are the common case). */
  private insertAt(list: readonly StoredBatch[], c: BatchCursor): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (newerFirst(list[mid]!, c) > 0) lo = mid + 1; // list[mid] is older than c
      else hi = mid;
    }
    return lo;
  }

  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
