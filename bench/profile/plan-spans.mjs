/**
 * distributeTask's time split into the steps it runs, each timed alone on the same random DAG:
 * the zod schema parse, buildTaskGraph (run twice by distributeTask: once by parseTask's DAG
 * check, once by the planner), a SubAgent specification and profile key per subtask, and the
 * strategy's lane planner. `node bench/profile/plan-spans.mjs [n] [reps]`
 */
import { parseTask } from '../../dist/src/index.js';
import { buildTaskGraph } from '../../dist/src/dag/graph.js';
import { DistributedTask } from '../../dist/src/schemas/index.js';
import { profileKey, specificationFor } from '../../dist/src/distribution/specs.js';
import { benchCoordinator, strategy } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';
import { randomDag } from '../cases/plan.mjs';
import { summarize } from '../lib/stats.mjs';

const [n = '10000', reps = '9'] = process.argv.slice(2);
const coordinator = await benchCoordinator();
const { registry, config } = ok(await coordinator.init(), 'init');
const task = randomDag(Number(n));
const series = new Map();
const time = (name, fn) => {
  const t0 = performance.now();
  const v = fn();
  series.set(name, [...(series.get(name) ?? []), performance.now() - t0]);
  return v;
};
for (let r = -2; r < Number(reps); r++) {
  const t0 = performance.now();
  ok(await coordinator.distributeTask(task, strategy('hybrid', 4)), 'distributeTask');
  if (r >= 0) series.set('distributeTask (total)', [...(series.get('distributeTask (total)') ?? []), performance.now() - t0]);
  const parsed = time('zod: DistributedTask.safeParse', () => DistributedTask.parse(task));
  time('parseTask (zod + DAG check)', () => ok(parseTask(task), 'parseTask'));
  const graph = time('buildTaskGraph (once)', () => ok(buildTaskGraph(parsed.subtasks, parsed.dependencies), 'graph'));
  const entry = registry.agentFor('bench-echo', []);
  const specs = time('specificationFor × n', () => parsed.subtasks.map((s) => specificationFor(s, entry, config, 'bench')));
  const keys = time('profileKey × n (JSON.stringify of each spec)', () => specs.map(profileKey));
  const hybrid = registry.strategy('hybrid').plugin;
  time('hybrid plan (lanes)', () =>
    hybrid.plan({ subtasks: parsed.subtasks.map((s, i) => ({ id: s.id, estimatedDuration: s.estimatedDuration, profile: keys[i] })), preds: graph.preds, succs: graph.succs, order: graph.order, maxConcurrentAgents: 4 }),
  );
  if (r < 0) series.clear();
}
const width = Math.max(...[...series.keys()].map((k) => k.length));
for (const [name, xs] of series) console.log(`${name.padEnd(width)}  median ${summarize(xs).median.toFixed(1).padStart(6)} ms`);
await coordinator.close();
