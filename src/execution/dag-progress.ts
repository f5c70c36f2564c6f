import type { TaskGraph } from '../dag/graph.js';

/**
 * What the DAG makes of subtasks ending, kept incrementally (O(1) per end, plus the successors
 * of a success): how many inputs each subtask still waits for, and the lowest DAG level that
 * still has a subtask not ended (for level-by-level strategies). Derived from the run's events,
 * so a replay rebuilds it by feeding the same ends.
 */
export class DagProgress {
  private readonly remainingPreds: Int32Array;
  private readonly openPerLevel: Int32Array;
  private readonly ended: Uint8Array;
  private lowest = 0;

  constructor(
    private readonly graph: TaskGraph,
    private readonly level: Int32Array,
  ) {
    const n = graph.preds.length;
    this.remainingPreds = Int32Array.from(graph.preds.map((p) => p.length));
    this.ended = new Uint8Array(n);
    let levels = 1;
    for (let i = 0; i < n; i++) levels = Math.max(levels, level[i]! + 1);
    this.openPerLevel = new Int32Array(levels);
    for (let i = 0; i < n; i++) this.openPerLevel[level[i]!]! += 1;
  }

  /** The subtasks that wait for nothing. */
  roots(): number[] {
    const out: number[] = [];
    this.graph.preds.forEach((p, i) => p.length === 0 && out.push(i));
    return out;
  }

  get lowestOpenLevel(): number {
    return this.lowest;
  }

  /** Subtask `i` reached a terminal status (counted once). */
  end(i: number): void {
    if (this.ended[i] === 1) return;
    this.ended[i] = 1;
    this.openPerLevel[this.level[i]!]! -= 1;
    while (this.lowest < this.openPerLevel.length - 1 && this.openPerLevel[this.lowest] === 0) this.lowest++;
  }

  /** Subtask `i` succeeded: the successors that now have all their inputs. */
  succeeded(i: number): number[] {
    this.end(i);
    const ready: number[] = [];
    for (const s of this.graph.succs[i]!) {
      this.remainingPreds[s]! -= 1;
      if (this.remainingPreds[s] === 0) ready.push(s);
    }
    return ready;
  }
}
