/**
 * A pool's load as the autoscaler sees it, read from the live state once
 * per evaluation: queued tasks of the pool and the oldest one's age (one
 * pass over the queue for all pools), and the tasks in flight on the
 * workers that serve the pool (the worker registry).
 */
import type { Requirement } from '../../common/task-kinds.js';
import type { PoolLoadSample } from './scaling-decider.js';
import { poolMatches } from './scaling-policy.js';

export interface QueuedLike {
  readonly requirement: Requirement;
  readonly createdAtMs: number;
}

export interface WorkerLike {
  readonly state: 'online' | 'draining' | 'offline';
  readonly inFlight: ReadonlySet<string>;
  readonly kinds: ReadonlySet<string>;
  readonly models: ReadonlySet<string>;
}

export interface LoadSource {
  queued(): Iterable<QueuedLike>;
  workers(): Iterable<WorkerLike>;
}

function serves(w: WorkerLike, pool: string): boolean {
  if (pool === '*') return true;
  const i = pool.indexOf(':');
  if (i < 0) return w.kinds.has(pool);
  return w.models.has(`${pool.slice(0, i)}\u0000${pool.slice(i + 1)}`);
}

/** Samples of every pool at `now`. */
export function samplePools(source: LoadSource, pools: readonly string[], now: number): Map<string, PoolLoadSample & { workers: number }> {
  const out = new Map<string, PoolLoadSample & { workers: number }>();
  for (const p of pools) out.set(p, { queued: 0, inFlight: 0, oldestMs: 0, workers: 0 });
  if (pools.length === 0) return out;
  for (const t of source.queued()) {
    for (const p of pools) {
      if (!poolMatches(p, t.requirement.kind, t.requirement.model)) continue;
      const s = out.get(p)!;
      s.queued++;
      s.oldestMs = Math.max(s.oldestMs, now - t.createdAtMs);
    }
  }
  for (const w of source.workers()) {
    if (w.state === 'offline') continue;
    for (const p of pools) {
      if (!serves(w, p)) continue;
      const s = out.get(p)!;
      s.inFlight += w.inFlight.size;
      if (w.state === 'online') s.workers++;
    }
  }
  return out;
}
