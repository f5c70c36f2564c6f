import type { TaskGraph } from '../dag/graph.js';

/** Per-subtask DAG figures the schedulers use: depth (level) and longest remaining chain (bottom level). */
export interface GraphMetrics {
  readonly level: Int32Array;
  readonly bottomLevel: Float64Array;
  readonly rank: Int32Array;
}

export function graphMetrics(graph: TaskGraph, durations: readonly number[]): GraphMetrics {
  const n = graph.ids.length;
  const level = new Int32Array(n);
  const bottomLevel = new Float64Array(n);
  const rank = new Int32Array(n);
  graph.order.forEach((v, r) => {
    rank[v] = r;
    for (const p of graph.preds[v]!) level[v] = Math.max(level[v]!, level[p]! + 1);
  });
  for (let k = graph.order.length - 1; k >= 0; k--) {
    const v = graph.order[k]!;
    let tail = 0;
    for (const s of graph.succs[v]!) tail = Math.max(tail, bottomLevel[s]!);
    bottomLevel[v] = tail + (durations[v] ?? 0);
  }
  return { level, bottomLevel, rank };
}
