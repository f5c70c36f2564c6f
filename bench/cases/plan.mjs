/**
 * 5. distributeTask for DAGs of 100, 1,000 and 10,000 subtasks, and how its time grows; the
 *    baseline is building and checking the same DAG alone (buildTaskGraph). `plan.N` plans a
 *    task validated once at the boundary (as `qicoord run` does: the file is parsed, then
 *    distributed); `validate.N` is that validation (zod schema + DAG checks) and `plan.N.raw`
 *    both together, for an unvalidated object.
 */
import { parseTask } from '../../dist/src/index.js';
import { buildTaskGraph } from '../../dist/src/dag/graph.js';
import { DistributedTask } from '../../dist/src/schemas/index.js';
import { benchCoordinator, strategy } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';
import { seeded } from '../lib/random.mjs';

/**
 * A random layered DAG (seeded): subtask i has 0–3 data inputs fed by subtasks among the 64
 * before it (about 1 in 8 is a root), every subtask on the echo plugin.
 */
export function randomDag(n, seed = 42) {
  const rand = seeded(seed);
  const subtasks = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    const k = i === 0 || rand() < 0.125 ? 0 : 1 + Math.floor(rand() * 3);
    for (let d = 0; d < k; d++) deps.add(i - 1 - Math.floor(rand() * Math.min(i, 64)));
    subtasks.push({
      id: `t${i}`,
      agent: 'bench-echo',
      inputs: [...deps].map((j) => ({ name: `o${j}` })),
      expectedOutputs: [{ name: `o${i}` }],
      estimatedDuration: 50 + Math.floor(rand() * 200),
    });
  }
  return { id: `dag-${n}`, subtasks };
}

function time(fn) {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export async function run({ figures, progress, reps }) {
  const coordinator = await benchCoordinator();
  const strat = strategy('hybrid', 4);
  const medians = new Map();
  for (const [n, count] of [
    [100, reps(60, 15)],
    [1000, reps(25, 6)],
    [10000, reps(9, 3)],
  ]) {
    progress(`plan.${n}`);
    const task = randomDag(n);
    const parsed = DistributedTask.parse(task);
    const planMs = [];
    const rawMs = [];
    const validateMs = [];
    const graphMs = [];
    for (let i = -2; i < count; i++) {
      let validated;
      const v = time(() => (validated = ok(parseTask(task), `parseTask ${n}`)));
      const t0 = performance.now();
      ok(await coordinator.distributeTask(validated, strat), `distributeTask ${n}`);
      const ms = performance.now() - t0;
      const t1 = performance.now();
      ok(await coordinator.distributeTask(task, strat), `distributeTask raw ${n}`);
      const raw = performance.now() - t1;
      const g = time(() => ok(buildTaskGraph(parsed.subtasks, parsed.dependencies), 'buildTaskGraph'));
      if (i >= 0) {
        planMs.push(ms);
        rawMs.push(raw);
        validateMs.push(v);
        graphMs.push(g);
      }
    }

    figures.add(`dag.build.${n}`, 'ms', graphMs, { note: `buildTaskGraph alone on the same ${n} parsed subtasks (index, producers, edges, cycle check, topological order)` });
    figures.add(`validate.${n}`, 'ms', validateMs, { note: `parseTask: zod schema and DAG checks of ${n} subtasks, once at the boundary` });
    figures.add(`plan.${n}.raw`, 'ms', rawMs, { baseline: `dag.build.${n}`, note: `distributeTask on the unvalidated object (validation included)` });
    const f = figures.add(`plan.${n}`, 'ms', planMs, {
      baseline: `dag.build.${n}`,
      ...(n === 10000 ? { goal: { op: '<', value: 50 } } : {}),
      note: `coordinator.distributeTask of a validated task, hybrid strategy, random DAG of ${n} subtasks (≤ 3 data inputs each, seeded)`,
    });
    medians.set(n, f.median);
  }
  const exponent = Math.log10(medians.get(10000) / medians.get(100)) / 2;
  figures.add('plan.growthExponent', 'k in t ∝ n^k', [exponent], { note: 'log10(plan.10000 / plan.100) / 2: 1 = linear' });
  await coordinator.close();
}
