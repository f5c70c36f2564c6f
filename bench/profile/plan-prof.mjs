/**
 * CPU profile of distributeTask on the bench's random DAG (default 10,000 subtasks, hybrid):
 * `node --cpu-prof --cpu-prof-dir=DIR bench/profile/plan-prof.mjs [n] [reps] [strategy]`, then
 * cpuprofile-top.mjs. Prints the time of each repetition.
 */
import { benchCoordinator, strategy } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';
import { randomDag } from '../cases/plan.mjs';

const [n = '10000', reps = '10', type = 'hybrid'] = process.argv.slice(2);
const coordinator = await benchCoordinator();
const task = randomDag(Number(n));
for (let r = 0; r < Number(reps); r++) {
  const t0 = performance.now();
  ok(await coordinator.distributeTask(task, strategy(type, 4)), 'distributeTask');
  console.log(`distributeTask ${n}: ${(performance.now() - t0).toFixed(1)} ms`);
}
await coordinator.close();
