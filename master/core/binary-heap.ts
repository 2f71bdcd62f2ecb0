/**
 * A binary min-heap ordered by `before(a, b)` (a comes out first). With
 * `track`, the heap tells each item its position as it moves, so that
 * `remove(item)` is O(log n) instead of leaving dead entries behind.
 */
export class BinaryHeap<T> {
  private readonly items: T[] = [];

  constructor(
    private readonly before: (a: T, b: T) => boolean,
    private readonly track?: { set(item: T, index: number): void; get(item: T): number },
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.place(this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Removes an item (needs `track`); false if it is not in the heap. */
  remove(item: T): boolean {
    const i = this.track!.get(item);
    if (i < 0 || i >= this.items.length || this.items[i] !== item) return false;
    this.removeAt(i);
    return true;
  }

  private removeAt(i: number): void {
    const a = this.items;
    const gone = a[i]!;
    const last = a.pop()!;
    this.track?.set(gone, -1);
    if (i === a.length) return;
    a[i] = last;
    this.place(i);
    this.down(i);
    this.up(i);
  }

  private place(i: number): void {
    this.track?.set(this.items[i]!, i);
  }

  private swap(i: number, j: number): void {
    const a = this.items;
    [a[i], a[j]] = [a[j]!, a[i]!];
    this.place(i);
    this.place(j);
  }

  private up(i: number): void {
    const a = this.items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i]!, a[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const a = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
      if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
