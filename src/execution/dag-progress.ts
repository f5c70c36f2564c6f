import type { TaskGraph } from '../dag/graph.js';

/**
 * What the DAG makes of subtasks ending, kept incrementally (O(1) per end, plus the successors
 * of a success): how many inputs each subtask still waits for, and the lowest DAG level that
 * still has a subtask not ended (for level-by-level strategies). Derived from the run's events,
 * so a replay rebuilds it by feeding the same ends.
 */
export class DagProgress {
  private remainingPreds: Int32Array;
  private openPerLevel: Int32Array;
  private ended: Uint8Array;
  /** Subtasks tracked (the arrays may have room for more). */
  private size: number;
  private lowest = 0;

  /** `plan`: the run's DAG and levels, read as they are now (a run appends delegated subtasks). */
  constructor(private readonly plan: { readonly graph: TaskGraph; readonly metrics: { readonly level: Int32Array } }) {
    const graph = plan.graph;
    const level = plan.metrics.level;
    const n = graph.preds.length;
    this.remainingPreds = Int32Array.from(graph.preds.map((p) => p.length));
    this.ended = new Uint8Array(n);
    this.size = n;
    let levels = 1;
    for (let i = 0; i < n; i++) levels = Math.max(levels, level[i]! + 1);
    this.openPerLevel = new Int32Array(levels);
    for (let i = 0; i < n; i++) this.openPerLevel[level[i]!]! += 1;
  }

  /** The subtasks that wait for nothing. */
  roots(): number[] {
    const out: number[] = [];
    this.plan.graph.preds.forEach((p, i) => p.length === 0 && out.push(i));
    return out;
  }

  get lowestOpenLevel(): number {
    return this.lowest;
  }

  /**
   * Subtasks appended to the run (delegated ones): open at `level`, waiting for nothing. They
   * take their parent's level, which is open while the parent runs, so a level-by-level
   * strategy starts them instead of waiting for a level that cannot close before they end.
   */
  add(count: number, level: number): void {
    this.size += count;
    const n = this.size;
    this.remainingPreds = grow(this.remainingPreds, n) as Int32Array;
    this.ended = grow(this.ended, n) as Uint8Array;
    if (level >= this.openPerLevel.length) this.openPerLevel = grow(this.openPerLevel, level + 1) as Int32Array;
    this.openPerLevel[level]! += count;
    if (level < this.lowest) this.lowest = level;
  }

  /** Subtask `i` reached a terminal status (counted once). */
  end(i: number): void {
    if (this.ended[i] === 1) return;
    this.ended[i] = 1;
    this.openPerLevel[this.plan.metrics.level[i]!]! -= 1;
    while (this.lowest < this.openPerLevel.length - 1 && this.openPerLevel[this.lowest] === 0) this.lowest++;
  }

  /** Subtask `i` succeeded: the successors that now have all their inputs. */
  succeeded(i: number): number[] {
    this.end(i);
    const ready: number[] = [];
    for (const s of this.plan.graph.succs[i]!) {
      this.remainingPreds[s]! -= 1;
      if (this.remainingPreds[s] === 0) ready.push(s);
    }
    return ready;
  }
}

/** `a`, or a copy with room for at least `n` entries (new ones zero; capacity doubles, so appending one at a time stays linear). */
export function grow<A extends Int32Array | Uint8Array | Float64Array>(a: A, n: number): A {
  if (n <= a.length) return a;
  const out = new (a.constructor as new (n: number) => A)(Math.max(n, a.length * 2));
  out.set(a);
  return out;
}
