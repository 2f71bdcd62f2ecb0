/**
 * Workers as the master knows them: built from retained status messages,
 * with the master's own count of what each one runs (authoritative for
 * scheduling). Emits typed events when workers come and go.
 */
import { tenantsOfLabels } from '../../common/worker-tenants.js';
import { EventEmitter } from 'node:events';
import type { Clock } from '../../common/clock.js';
import type { WorkerStatus__Output } from '../../common/wire.js';
import type { WorkerView } from '../../common/task-view.js';
import type { Requirement } from '../../common/task-kinds.js';

const NO_FEATURES: ReadonlyMap<string, ReadonlySet<string>> = new Map();

/** `["image:op:resize", "image:format:avif"]` → image → {op:resize, format:avif}; entries without a kind are ignored. */
export function featuresByKind(list: readonly string[] | undefined): ReadonlyMap<string, ReadonlySet<string>> {
  if (!list || list.length === 0) return NO_FEATURES;
  const out = new Map<string, Set<string>>();
  for (const f of list) {
    const i = f.indexOf(':');
    if (i <= 0 || i === f.length - 1) continue;
    const kind = f.slice(0, i);
    const set = out.get(kind) ?? new Set<string>();
    set.add(f.slice(i + 1));
    out.set(kind, set);
  }
  return out;
}

/** Does the worker advertise every feature `req` needs (or none of its kind)? A loop: this runs per candidate per pick. */
export function hasFeatures(worker: Pick<WorkerRecord, 'features'>, req: Requirement): boolean {
  const has = worker.features.get(req.kind);
  if (!has || !req.features) return true;
  for (const f of req.features) if (!has.has(f)) return false;
  return true;
}

/** The features of `req` the worker does not advertise (none when it advertises no features of the kind). */
export function missingFeatures(worker: Pick<WorkerRecord, 'features'>, req: Requirement): string[] {
  const has = worker.features.get(req.kind);
  if (!has || !req.features) return [];
  return req.features.filter((f) => !has.has(f));
}

/** The same kinds (a status that repeats its kinds, the usual case)? */
function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const k of b) if (!a.has(k)) return false;
  return true;
}

export type WorkerLifecycle = 'online' | 'draining' | 'offline';

export interface WorkerRecord {
  readonly id: string;
  status: WorkerStatus__Output;
  state: WorkerLifecycle;
  kinds: Set<string>;
  /** `${kind}\0${name}` for every ready model. */
  models: Set<string>;
  /** Advertised features per kind (`image` → {`op:resize`, `format:avif`}); a kind not here supports all of it. */
  features: ReadonlyMap<string, ReadonlySet<string>>;
  capacity: number;
  /** Task ids the master assigned and has not seen finish (changed only by capacity.ts). */
  readonly inFlight: ReadonlySet<string>;
  connectedAtMs: number | null;
  lastSeenMs: number;
  /**
   * Set when one of its attempts lost its lease (a frozen or partitioned
   * worker has no Last Will yet): it gets no new work until it is heard from
   * again (a result event or a status message).
   */
  suspect: boolean;
  /** Pinned to these tenants (status label `taskwire.tenants`), or null: shared, serves every tenant. */
  tenants: ReadonlySet<string> | null;
}

export interface WorkerRegistryEvents {
  online: [worker: WorkerRecord];
  /** `wasDraining`: it was draining when it went (its attempts are released as `drained`). */
  offline: [worker: WorkerRecord, reason: string, wasDraining: boolean];
  changed: [worker: WorkerRecord];
  draining: [worker: WorkerRecord];
}

export class WorkerRegistry extends EventEmitter<WorkerRegistryEvents> {
  private readonly workers = new Map<string, WorkerRecord>();
  /** Online workers in registration order (round-robin order); rebuilt on the next read once membership changed. */
  private ordered: WorkerRecord[] = [];
  private orderStale = false;
  private pinned = false;
  /** Kinds offered by online workers, sorted; recomputed on the next read once membership or some worker's kinds changed. */
  private kindsCache: readonly string[] | undefined;
  private readonly clock: Clock;

  constructor(clock: Clock) {
    super();
    this.clock = clock;
  }

  get(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  all(): WorkerRecord[] {
    return [...this.workers.values()];
  }

  /**
   * Online (accepting) workers in stable rotation order: the same array until
   * membership changes. Rebuilt here, on the first read after a change, so
   * 1,000 workers registering at once cost one rebuild, not one per worker.
   */
  schedulable(): readonly WorkerRecord[] {
    if (this.orderStale) this.reorder();
    return this.ordered;
  }

  /** Applies a status message; returns the record. */
  applyStatus(status: WorkerStatus__Output): WorkerRecord {
    const now = this.clock.now();
    const id = status.worker_id;
    const prev = this.workers.get(id);
    const state: WorkerLifecycle =
      status.state === 'WORKER_STATE_ONLINE' ? 'online' : status.state === 'WORKER_STATE_DRAINING' ? 'draining' : 'offline';
    const record: WorkerRecord = prev ?? {
      id,
      status,
      state: 'offline',
      kinds: new Set(),
      models: new Set(),
      features: NO_FEATURES,
      capacity: 1,
      inFlight: new Set(),
      connectedAtMs: null,
      lastSeenMs: now,
      suspect: false,
      tenants: null,
    };
    const isNew = prev === undefined;
    const wasState = record.state;
    const wasStartedAt = record.status.started_at_ms;
    const kinds = new Set(status.kinds);
    if (!sameSet(record.kinds, kinds)) this.kindsCache = undefined;
    record.status = status;
    record.kinds = kinds;
    record.models = new Set(status.models.filter((m) => m.ready).map((m) => `${m.kind}\u0000${m.name}`));
    record.features = featuresByKind(status.features);
    record.capacity = Math.max(1, status.capacity);
    const wasPinned = record.tenants !== null;
    record.tenants = tenantsOfLabels(status.labels);
    record.lastSeenMs = now;
    record.suspect = false;
    record.state = state;
    this.workers.set(id, record);
    const restarted = prev !== undefined && wasState !== 'offline' && wasStartedAt !== status.started_at_ms;
    // The online list changes only when a worker comes, goes or changes state: a status that only
    // reports progress (every 250 ms per busy worker) costs no O(workers) rebuild.
    const membership = isNew || wasState !== state || (record.tenants !== null) !== wasPinned;
    if (state === 'offline') {
      record.connectedAtMs = null;
      if (membership) this.membershipChanged();
      if (wasState !== 'offline') this.emit('offline', record, status.reason || 'offline', wasState === 'draining');
    } else {
      if (restarted) {
        // Same id, new process: whatever the old one ran is gone.
        this.emit('offline', record, 'restarted', false);
      }
      if (wasState === 'offline' || restarted) record.connectedAtMs = now;
      if (membership) this.membershipChanged();
      if (wasState === 'offline' || restarted) this.emit('online', record);
      else this.emit('changed', record);
      if (state === 'draining' && (wasState !== 'draining' || restarted)) this.emit('draining', record);
    }
    return record;
  }

  /** The status topic was cleared (empty retained message): forget the worker. */
  forget(id: string): void {
    const rec = this.workers.get(id);
    if (!rec) return;
    this.workers.delete(id);
    this.membershipChanged();
    if (rec.state !== 'offline') this.emit('offline', rec, 'removed', rec.state === 'draining');
  }

  private membershipChanged(): void {
    this.orderStale = true;
    this.kindsCache = undefined;
  }

  private reorder(): void {
    this.ordered = [...this.workers.values()].filter((w) => w.state === 'online');
    this.pinned = this.ordered.some((w) => w.tenants !== null);
    this.orderStale = false;
  }

  /** Some online worker is pinned to tenants. */
  get hasPinned(): boolean {
    if (this.orderStale) this.reorder();
    return this.pinned;
  }

  /** The worker was heard from (a result event): it is not suspect any more. */
  heardFrom(id: string, now: number): void {
    const w = this.workers.get(id);
    if (!w) return;
    w.lastSeenMs = now;
    if (w.suspect) {
      w.suspect = false;
      this.emit('changed', w);
    }
  }

  supports(worker: WorkerRecord, req: Requirement): boolean {
    if (!worker.kinds.has(req.kind)) return false;
    if (req.features !== undefined && !hasFeatures(worker, req)) return false;
    if (req.model !== undefined) return worker.models.has(`${req.kind}\u0000${req.model}`);
    // Any model of the kind: a worker that lists models of this kind needs one ready
    // (a provider cooling down advertises its models not ready).
    // (A loop, not filter/some: this runs per candidate per pick.)
    let listed = false;
    for (const m of worker.status.models) {
      if (m.kind !== req.kind) continue;
      if (m.ready) return true;
      listed = true;
    }
    return !listed;
  }

  /**
   * When online workers serve `req.kind` but none has every feature `req`
   * needs: what the closest one lacks (for the refusal's message); else undefined.
   */
  unsupported(req: Requirement): { workers: number; missing: string[] } | undefined {
    if (!req.features || req.features.length === 0) return undefined;
    let best: string[] | undefined;
    let workers = 0;
    for (const w of this.schedulable()) {
      if (!w.kinds.has(req.kind)) continue;
      workers++;
      const missing = missingFeatures(w, req);
      if (missing.length === 0) return undefined;
      if (!best || missing.length < best.length) best = missing;
    }
    return best ? { workers, missing: best } : undefined;
  }

  /** Kinds offered by online workers, sorted (read on every submit: kept, not recomputed, while nothing changes). */
  kinds(): readonly string[] {
    if (this.kindsCache) return this.kindsCache;
    const out = new Set<string>();
    for (const w of this.schedulable()) for (const k of w.kinds) out.add(k);
    return (this.kindsCache = [...out].sort());
  }

  view(w: WorkerRecord): WorkerView {
    const s = w.status;
    return {
      id: w.id,
      state: w.state,
      kinds: [...w.kinds].sort(),
      capacity: w.capacity,
      running: w.inFlight.size,
      language: s.language,
      version: s.version,
      hostname: s.hostname,
      models: s.models.map((m) => ({
        kind: m.kind,
        name: m.name,
        versions: m.versions,
        ready: m.ready,
        provider: m.provider,
        execution_provider: m.execution_provider,
      })),
      labels: s.labels,
      features: [...(s.features ?? [])].sort(),
      connected_at: w.connectedAtMs === null ? null : new Date(w.connectedAtMs).toISOString(),
      last_seen: new Date(w.lastSeenMs).toISOString(),
    };
  }
}
