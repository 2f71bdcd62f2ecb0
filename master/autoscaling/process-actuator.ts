/**
 * The local actuator: keeps N worker processes (or any unit a `spawn`
 * function starts: `taskwire start --autoscale` forks the CLI's `worker`
 * command). Scale-down always drains first: the chosen worker (the one with
 * the least in flight, newest first on ties) is sent DRAIN, gets no new work
 * once the master sees it draining, finishes what it runs, and only then is
 * stopped. So a scale-down loses and retries nothing. The drain runs in the
 * background: `scaleTo` returns once it has begun, so a long task on a
 * draining worker never holds back the next scale-up.
 *
 * Worker ids are never reused (`<prefix>-<n>`, n counting up), so a new
 * worker is never taken for a restart of an old one.
 */
import { ActuatorError, type ScalingActuator } from './scaling-actuator.js';

export interface WorkerUnit {
  /** Stops the worker (SIGTERM: the worker's own graceful stop); resolves once it is gone. */
  stop(): Promise<void>;
  /** Resolves when the unit exits on its own or is stopped. */
  readonly exited: Promise<void>;
}

/** What the actuator reads of the master (narrow: the worker registry through the autoscaler's wiring). */
export interface DrainHost {
  /** Sends DRAIN to a worker (MasterLink.publishControl). */
  drain(workerId: string): void;
  /** The worker's state and in-flight count as the master sees it, undefined when unknown. */
  worker(workerId: string): { state: 'online' | 'draining' | 'offline'; inFlight: number } | undefined;
}

export interface ProcessActuatorOptions {
  idPrefix: string;
  spawn(workerId: string): WorkerUnit;
  host: DrainHost;
  /** Longest a drain waits for the worker's tasks before it is stopped anyway (its own graceful stop then hands back the rest). */
  drainTimeoutMs?: number;
  pollMs?: number;
}

export class ProcessActuator implements ScalingActuator {
  readonly name = 'local';
  private readonly units = new Map<string, WorkerUnit>();
  private readonly draining = new Set<string>();
  private next = 1;
  private readonly drains = new Set<Promise<void>>();
  private closed = false;
  /** Starts, drains (`drainedBusy`: the worker ran tasks when its drain began) and stops so far. */
  readonly counts = { started: 0, drained: 0, drainedBusy: 0, drainTimeouts: 0, exited: 0 };

  constructor(private readonly options: ProcessActuatorOptions) {}

  /** Worker ids it keeps (not counting those draining). */
  ids(): string[] {
    return [...this.units.keys()].filter((id) => !this.draining.has(id));
  }

  async replicas(): Promise<number> {
    return this.units.size - this.draining.size;
  }

  async scaleTo(count: number): Promise<number> {
    if (this.closed) throw new ActuatorError('the local actuator is closed');
    const current = this.units.size - this.draining.size;
    for (let i = current; i < count; i++) this.start();
    // A scale-down returns at once: the removed workers drain in the background (a long task must
    // not hold back the next scale-up), and they no longer count.
    if (count < current) {
      for (const id of this.pickToRemove(current - count)) {
        const d = this.drainAndStop(id).finally(() => this.drains.delete(d));
        this.drains.add(d);
      }
    }
    return this.units.size - this.draining.size;
  }

  /** Resolves once every drain begun so far has ended (its worker stopped). */
  async drained(): Promise<void> {
    while (this.drains.size > 0) await Promise.all([...this.drains]);
  }

  private start(): void {
    const id = `${this.options.idPrefix}-${this.next++}`;
    let unit: WorkerUnit;
    try {
      unit = this.options.spawn(id);
    } catch (err) {
      throw new ActuatorError(`could not start worker ${id}: ${(err as Error).message}`);
    }
    this.units.set(id, unit);
    this.counts.started++;
    void unit.exited.then(() => {
      // Exited on its own (crashed) or stopped: the next evaluation starts a replacement if needed.
      if (this.units.get(id) === unit) {
        this.units.delete(id);
        this.draining.delete(id);
        this.counts.exited++;
      }
    });
  }

  /** The workers with the least in flight (newest first on ties: the oldest keep their warm caches). */
  private pickToRemove(n: number): string[] {
    const live = this.ids().map((id, order) => ({ id, order, inFlight: this.options.host.worker(id)?.inFlight ?? 0 }));
    live.sort((a, b) => a.inFlight - b.inFlight || b.order - a.order);
    return live.slice(0, n).map((x) => x.id);
  }

  private async drainAndStop(id: string): Promise<void> {
    const unit = this.units.get(id);
    if (!unit) return;
    this.draining.add(id);
    const { host } = this.options;
    const pollMs = this.options.pollMs ?? 50;
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? 10 * 60_000);
    let sentAt = 0;
    if ((host.worker(id)?.inFlight ?? 0) > 0) this.counts.drainedBusy++;
    for (;;) {
      const w = host.worker(id);
      // Drained: the master has seen it draining (no new work after that) and it runs nothing.
      if (w === undefined || w.state === 'offline' || (w.state === 'draining' && w.inFlight === 0)) break;
      if (Date.now() > deadline) {
        this.counts.drainTimeouts++;
        break;
      }
      if (w.state === 'online' && Date.now() - sentAt > 1000) {
        host.drain(id); // re-sent each second until the master sees it draining
        sentAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    await unit.stop();
    this.counts.drained++;
    this.units.delete(id);
    this.draining.delete(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.units.values()].map((u) => u.stop()));
    this.units.clear();
    this.draining.clear();
  }
}
