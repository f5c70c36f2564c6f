import type { ReadySubtask } from '../plugin/strategy-types.js';

/**
 * The ready subtasks as a set of indices and, alongside, the array of their views the scheduler
 * picks from — kept up to date on add and delete (O(1), swap-remove), so a dispatch never
 * rebuilds the views of every ready subtask.
 */
export class ReadyList implements Iterable<number> {
  private readonly list: ReadySubtask[] = [];
  private readonly position = new Map<number, number>();

  constructor(private readonly view: (index: number) => ReadySubtask) {}

  get size(): number {
    return this.list.length;
  }

  has(index: number): boolean {
    return this.position.has(index);
  }

  add(index: number): void {
    if (this.position.has(index)) return;
    this.position.set(index, this.list.length);
    this.list.push(this.view(index));
  }

  delete(index: number): void {
    const at = this.position.get(index);
    if (at === undefined) return;
    const last = this.list.pop()!;
    if (at < this.list.length) {
      this.list[at] = last;
      this.position.set(last.index, at);
    }
    this.position.delete(index);
  }

  clear(): void {
    this.list.length = 0;
    this.position.clear();
  }

  /** The views, in no particular order; valid until the next add or delete. */
  views(): readonly ReadySubtask[] {
    return this.list;
  }

  [Symbol.iterator](): Iterator<number> {
    return [...this.position.keys()][Symbol.iterator]();
  }
}
