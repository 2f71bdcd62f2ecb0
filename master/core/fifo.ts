/**
 * An array-backed FIFO with O(1) amortised push and shift. (A Map used as a
 * FIFO is not: after many deletes at its front, `keys().next()` walks over
 * the deleted slots until V8 compacts the table.)
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
