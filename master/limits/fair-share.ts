/**
 * Weighted-fair dispatch across tenants (TASKWIRE_FAIR_SHARE): a QueueOrder
 * (master/core/queue-order.ts) giving each queued task a virtual finish tag,
 * start-time fair queueing style:
 *
 *   tag = max(V, last tag of its tenant) + 1 / weight(tenant)
 *   V   = the largest tag taken off the queue so far (the virtual time)
 *
 * Within a priority lower tags run first, so a tenant with a backlog of
 * 100,000 tasks has tags far in the future while another tenant's new task
 * gets a tag next to V: it runs after at most about one task per other busy
 * tenant (weighted), not after the backlog. Priorities still come first.
 * A re-queued task (retry) gets a new tag: it goes to the back of its tenant's share.
 */
import { ConfigError } from '../../common/errors.js';
import type { QueueOrder } from '../core/queue-order.js';
import type { QueuedTask } from '../core/task-queue.js';

export type TenantOf<T> = (task: T) => string;

export class FairShare<T extends QueuedTask> implements QueueOrder<T> {
  private virtual = 0;
  private readonly last = new Map<string, number>();

  constructor(
    private readonly tenantOf: TenantOf<T>,
    private readonly weights: ReadonlyMap<string, number> = new Map(),
    private readonly defaultWeight = 1,
  ) {}

  tag(task: T): number {
    const tenant = this.tenantOf(task);
    const w = this.weights.get(tenant) ?? this.defaultWeight;
    const tag = Math.max(this.virtual, this.last.get(tenant) ?? 0) + 1 / w;
    this.last.set(tenant, tag);
    return tag;
  }

  taken(_task: T, tag: number): void {
    if (tag > this.virtual) this.virtual = tag;
    // Tenants whose last tag is behind the virtual time restart from it anyway: forget them.
    if (this.last.size > 10_000) for (const [k, v] of this.last) if (v <= this.virtual) this.last.delete(k);
  }
}

/**
 * TASKWIRE_FAIR_SHARE: empty or `off` (FIFO within a priority, the default),
 * `on` (every tenant weight 1), or weights `acme=3,beta=1[,*=1]` (`*`: the others).
 */
export function parseFairShare(raw: string, variable = 'TASKWIRE_FAIR_SHARE'): { weights: Map<string, number>; defaultWeight: number } | undefined {
  const v = raw.trim();
  if (v === '' || v === 'off') return undefined;
  if (v === 'on') return { weights: new Map(), defaultWeight: 1 };
  const weights = new Map<string, number>();
  let defaultWeight = 1;
  for (const part of v.split(',')) {
    const m = /^\s*([A-Za-z0-9._*-]{1,200})\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    const w = m ? Number(m[2]) : NaN;
    if (!m || !(w > 0) || w > 1e6) throw new ConfigError(variable, `"${part.trim()}": expected tenant=weight with a weight > 0 (or on / off)`);
    if (m[1] === '*') defaultWeight = w;
    else weights.set(m[1]!, w);
  }
  return { weights, defaultWeight };
}
