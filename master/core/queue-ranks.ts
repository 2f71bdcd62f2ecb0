/**
 * The ranks of one requirement key's queued tasks: per priority, the
 * admission seqs in ascending order (appends are O(1); a re-queued task with
 * an older seq is inserted by binary search; the head leaves by moving an
 * offset). A rank is the count of tasks of higher priorities (k buckets)
 * plus a binary search in its own bucket: O(k + log n).
 */

/** Ascending numbers with a moving head (taking the smallest is O(1)). */
class SortedSeqs {
  private items: number[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  /** Index of the first item >= seq (relative to head). */
  lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }

  add(seq: number): void {
    const n = this.items.length;
    if (n === this.head || this.items[n - 1]! < seq) {
      this.items.push(seq);
      return;
    }
    const i = this.lowerBound(seq) + this.head;
    if (this.items[i] === seq) return;
    this.items.splice(i, 0, seq);
  }

  delete(seq: number): boolean {
    const i = this.lowerBound(seq) + this.head;
    if (this.items[i] !== seq) return false;
    if (i === this.head) {
      this.head++;
      // Compact once the dead prefix is large and over half of the array.
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    } else {
      this.items.splice(i, 1);
    }
    return true;
  }
}

export class KeyRanks {
  private readonly buckets = new Map<number, SortedSeqs>();
  size = 0;

  add(priority: number, seq: number): void {
    let b = this.buckets.get(priority);
    if (!b) this.buckets.set(priority, (b = new SortedSeqs()));
    const before = b.size;
    b.add(seq);
    this.size += b.size - before;
  }

  delete(priority: number, seq: number): void {
    const b = this.buckets.get(priority);
    if (!b || !b.delete(seq)) return;
    this.size--;
    if (b.size === 0) this.buckets.delete(priority);
  }

  /** Tasks before (priority, seq): every higher priority, then lower seqs of the same one. */
  rank(priority: number, seq: number): number {
    let n = 0;
    for (const [p, b] of this.buckets) if (p > priority) n += b.size;
    return n + (this.buckets.get(priority)?.lowerBound(seq) ?? 0);
  }

  /** Tasks of priority >= `priority` (all of them run before a new task of that priority). */
  atLeast(priority: number): number {
    let n = 0;
    for (const [p, b] of this.buckets) if (p >= priority) n += b.size;
    return n;
  }
}
