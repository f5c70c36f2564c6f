import type { ReadySubtask } from '../plugin/strategy-types.js';

/**
 * The ready subtasks as an indexed binary heap, ordered by a scheduler's `order.before`: the
 * first is read in O(1), add and delete are O(log n) (positions kept per subtask index, so a
 * skipped or cancelled subtask leaves without a scan). Used for schedulers that declare an
 * order; the others get a ReadyList and `pick`.
 */
export class ReadyHeap implements Iterable<number> {
  private readonly items: ReadySubtask[] = [];
  /** position[index] = place in `items`, or -1 (grown when a run adds subtasks). */
  private position: Int32Array;

  constructor(
    capacity: number,
    private readonly view: (index: number) => ReadySubtask,
    private readonly order: (a: ReadySubtask, b: ReadySubtask) => boolean,
  ) {
    this.position = new Int32Array(capacity).fill(-1);
  }

  /** The scheduler's order; subtasks it does not tell apart go by index (delegated children in the order asked). */
  private before(a: ReadySubtask, b: ReadySubtask): boolean {
    return this.order(a, b) || (a.index < b.index && !this.order(b, a));
  }

  get size(): number {
    return this.items.length;
  }

  has(index: number): boolean {
    return this.position[index] !== undefined && this.position[index] >= 0;
  }

  /** The first subtask by the order, if any. */
  first(): ReadySubtask | undefined {
    return this.items[0];
  }

  add(index: number): void {
    if (index >= this.position.length) {
      const grown = new Int32Array(Math.max(index + 1, this.position.length * 2)).fill(-1);
      grown.set(this.position);
      this.position = grown;
    }
    if (this.has(index)) return;
    this.items.push(this.view(index));
    this.up(this.items.length - 1);
  }

  delete(index: number): void {
    const at = this.position[index] ?? -1;
    if (at < 0) return;
    this.position[index] = -1;
    const last = this.items.pop()!;
    if (at === this.items.length) return;
    this.place(last, at);
    this.up(at);
    this.down(this.position[last.index]!);
  }

  clear(): void {
    for (const item of this.items) this.position[item.index] = -1;
    this.items.length = 0;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.items.map((r) => r.index)[Symbol.iterator]();
  }

  private place(item: ReadySubtask, at: number): void {
    this.items[at] = item;
    this.position[item.index] = at;
  }

  private up(at: number): void {
    const item = this.items[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(item, this.items[parent]!)) break;
      this.place(this.items[parent]!, at);
      at = parent;
    }
    this.place(item, at);
  }

  private down(at: number): void {
    const item = this.items[at]!;
    const n = this.items.length;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && this.before(this.items[child + 1]!, this.items[child]!)) child += 1;
      if (!this.before(this.items[child]!, item)) break;
      this.place(this.items[child]!, at);
      at = child;
    }
    this.place(item, at);
  }
}
