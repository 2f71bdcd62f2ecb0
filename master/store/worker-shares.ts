/**
 * Multi-master: which workers this master dispatches to. Every master hears
 * every worker on the shared broker; each dispatches only to its share, so
 * two masters never fill the same worker's slots. The share is the same
 * computation on every master: the online workers sorted by id, the i-th
 * to the (i mod n)-th live master sorted by id. A worker of another master's
 * share is applied to this master's registry as draining (it runs what this
 * master gave it before, and gets nothing new); when the live masters or the
 * workers change, the shares move on the next status or heartbeat.
 */
import type { WorkerStatus__Output } from '../../common/gen/taskwire/v1/WorkerStatus.js';

export class WorkerShares {
  private readonly last = new Map<string, WorkerStatus__Output>();
  private readonly mine = new Set<string>();
  private masters: string[];

  constructor(
    private readonly me: string,
    private readonly apply: (status: WorkerStatus__Output) => void,
  ) {
    this.masters = [me];
  }

  /** Live masters (this one always among them). */
  setMasters(ids: readonly string[]): void {
    const next = [...new Set([...ids, this.me])].sort();
    if (next.join('\u0000') === this.masters.join('\u0000')) return;
    this.masters = next;
    this.reassign();
  }

  get liveMasters(): readonly string[] {
    return this.masters;
  }

  /** A status from the broker: cached, applied as it is (ours) or as draining (another master's). */
  onStatus(status: WorkerStatus__Output): void {
    this.last.set(status.worker_id, status);
    this.reassign(status.worker_id);
  }

  /** The worker's retained status was cleared. */
  forget(id: string): void {
    this.last.delete(id);
    this.mine.delete(id);
    this.reassign();
  }

  /** Whether any online worker (of any master's share) serves the kind: a submit of it is accepted and pooled. */
  serves(kind: string): boolean {
    for (const s of this.last.values()) if (s.state === 'WORKER_STATE_ONLINE' && s.kinds.includes(kind)) return true;
    return false;
  }

  /** The statuses of the online workers of every master's share (the gateway offers their models). */
  online(): WorkerStatus__Output[] {
    return [...this.last.values()].filter((s) => s.state === 'WORKER_STATE_ONLINE');
  }

  /** Whether this master dispatches to the worker now. */
  owns(id: string): boolean {
    return this.mine.has(id);
  }

  private shares(): Map<string, string> {
    const online = [...this.last.values()].filter((s) => s.state === 'WORKER_STATE_ONLINE').map((s) => s.worker_id).sort();
    const out = new Map<string, string>();
    online.forEach((id, i) => out.set(id, this.masters[i % this.masters.length]!));
    return out;
  }

  private reassign(changed?: string): void {
    const owner = this.shares();
    for (const [id, s] of this.last) {
      const mineNow = owner.get(id) === this.me;
      if (id !== changed && mineNow === this.mine.has(id)) continue;
      if (mineNow) this.mine.add(id);
      else this.mine.delete(id);
      this.apply(mineNow || s.state !== 'WORKER_STATE_ONLINE' ? s : { ...s, state: 'WORKER_STATE_DRAINING', reason: 'served by another master' });
    }
  }
}
