/**
 * A counting semaphore over CPU cores. Every session run takes as many units
 * as its session has intra-op threads, so the onnxruntime threads computing at
 * any moment never exceed the machine's cores, however many models and
 * instances are loaded. FIFO, so a wide run is not starved by narrow ones.
 */
export class CoreBudget {
  readonly capacity: number;
  private available: number;
  private readonly waiters: { units: number; grant: () => void }[] = [];

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.available = this.capacity;
  }

  /** Waits for `units` cores (capped at capacity); resolves to a release function. */
  async acquire(units: number): Promise<() => void> {
    const n = Math.min(this.capacity, Math.max(1, Math.floor(units)));
    if (this.waiters.length === 0 && this.available >= n) {
      this.available -= n;
    } else {
      await new Promise<void>((grant) => this.waiters.push({ units: n, grant }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.available += n;
      this.drain();
    };
  }

  get inUse(): number {
    return this.capacity - this.available;
  }

  private drain(): void {
    while (this.waiters.length > 0 && this.available >= this.waiters[0]!.units) {
      const w = this.waiters.shift()!;
      this.available -= w.units;
      w.grant();
    }
  }
}
