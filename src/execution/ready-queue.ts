import type { ReadySubtask, Scheduler, SchedulerState } from '../plugin/strategy-types.js';
import { ReadyHeap } from './ready-heap.js';
import { ReadyList } from './ready-list.js';

/**
 * The subtasks whose inputs all exist, and which of them starts next. A scheduler that declares
 * an `order` gets a heap (O(log n) per dispatch); any other gets its `pick` over the list of
 * ready views (a user's strategy plugin keeps working unchanged). The largest memory limit among
 * the ready subtasks is kept as they come and go (the scheduler state's `perAgentMB`), never
 * recomputed by a scan.
 */
export class ReadyQueue implements Iterable<number> {
  private readonly heap: ReadyHeap | undefined;
  private readonly list: ReadyList | undefined;
  /** How many ready subtasks need each memory limit (MB); few distinct values. */
  private readonly memoryCounts = new Map<number, number>();
  private maxMB = 0;

  constructor(
    private readonly scheduler: Scheduler,
    capacity: number,
    view: (index: number) => ReadySubtask,
    private readonly memoryOf: (index: number) => number,
  ) {
    const order = scheduler.order;
    if (order === undefined) this.list = new ReadyList(view);
    else this.heap = new ReadyHeap(capacity, view, (a, b) => order.before(a, b));
  }

  get size(): number {
    return (this.heap ?? this.list)!.size;
  }

  has(index: number): boolean {
    return (this.heap ?? this.list)!.has(index);
  }

  add(index: number): void {
    if (this.has(index)) return;
    (this.heap ?? this.list)!.add(index);
    const mb = this.memoryOf(index);
    this.memoryCounts.set(mb, (this.memoryCounts.get(mb) ?? 0) + 1);
    if (mb > this.maxMB) this.maxMB = mb;
  }

  delete(index: number): void {
    if (!this.has(index)) return;
    (this.heap ?? this.list)!.delete(index);
    const mb = this.memoryOf(index);
    const left = this.memoryCounts.get(mb)! - 1;
    if (left > 0) {
      this.memoryCounts.set(mb, left);
      return;
    }
    this.memoryCounts.delete(mb);
    if (mb === this.maxMB) this.maxMB = Math.max(0, ...this.memoryCounts.keys());
  }

  clear(): void {
    this.heap?.clear();
    this.list?.clear();
    this.memoryCounts.clear();
    this.maxMB = 0;
  }

  /** The largest memory limit (MB) among the ready subtasks; 0 when none is ready. */
  maxMemoryMB(): number {
    return this.maxMB;
  }

  /** The subtask the scheduler starts next (not removed), or undefined to start none now. */
  next(state: SchedulerState): number | undefined {
    if (this.heap !== undefined) {
      const first = this.heap.first();
      if (first === undefined) return undefined;
      const order = this.scheduler.order!;
      return order.startable === undefined || order.startable(first, state) ? first.index : undefined;
    }
    const views = this.list!.views();
    return views[this.scheduler.pick(views, state)]?.index;
  }

  [Symbol.iterator](): Iterator<number> {
    return (this.heap ?? this.list)![Symbol.iterator]();
  }
}
