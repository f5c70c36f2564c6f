/** DAG bookkeeping of a run, with no processes: inputs still awaited and the lowest open level. */
import { describe, expect, it } from 'vitest';
import { buildTaskGraph } from '../../src/dag/graph.js';
import { DagProgress } from '../../src/execution/dag-progress.js';
import { graphMetrics } from '../../src/execution/graph-metrics.js';

describe('DagProgress', () => {
  it('releases a subtask when its last input succeeds and moves the lowest open level past ended levels', () => {
    // a, b → c → d
    const built = buildTaskGraph(
      ['a', 'b', 'c', 'd'].map((id) => ({ id, inputs: [], expectedOutputs: [] })),
      [
        { dependentTask: 'c', dependsOn: ['a', 'b'], type: 'sequential' },
        { dependentTask: 'd', dependsOn: ['c'], type: 'sequential' },
      ],
    );
    if (built.tag === 'failure') throw new Error(built.error.message);
    const graph = built.value;
    const dag = new DagProgress({ graph, metrics: graphMetrics(graph, [1, 1, 1, 1]) });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => graph.index.get(id)!);
    expect(dag.roots().sort()).toEqual([a, b].sort());
    expect(dag.lowestOpenLevel).toBe(0);
    expect(dag.succeeded(a!)).toEqual([]);
    expect(dag.lowestOpenLevel).toBe(0);
    dag.end(b!);
    dag.end(b!);
    expect(dag.lowestOpenLevel).toBe(1);
    expect(dag.succeeded(c!)).toEqual([d]);
    expect(dag.lowestOpenLevel).toBe(2);
  });
});
