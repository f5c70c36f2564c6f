/**
 * Reentrant plugins (`concurrency`): 64 subtasks that each wait 20 ms without using the CPU (as a
 * call to a model API or any remote service does), on 2 agents, from a plugin that runs one at a
 * time per agent and from its twin declaring `concurrency: 16`. Wall time of
 * executeDistributedTask, each run starting its 2 agents (pool off: both variants pay the same
 * starts). Ideal: 64 × 20 ms / 2 agents = 640 ms one at a time; 64 × 20 ms / (2 × 16) = 40 ms
 * reentrant.
 */
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, fixture, ok } from '../lib/env.mjs';
import { independentTask, strategy, timedRun } from '../lib/coordinator.mjs';

const COUNT = 64;
const MS = 20;

export async function run({ figures, progress, reps }) {
  const coordinator = ok(await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: [fixture('wait.mjs'), fixture('wait-one.mjs')] }), journal: false }), 'createCoordinator');
  const walls = { one: [], reentrant: [] };
  const agent = { one: 'bench-wait-one', reentrant: 'bench-wait' };
  progress(`reentrant plugins: ${COUNT} × ${MS} ms waits on 2 agents, concurrency 1 vs 16, interleaved`);
  for (let r = 0; r < reps(5, 2); r++) {
    for (const key of r % 2 === 0 ? ['one', 'reentrant'] : ['reentrant', 'one']) {
      const run = await timedRun(coordinator, independentTask(`wait-${key}-${r}`, COUNT, agent[key], () => ({ ms: MS }), MS), strategy('parallel', 2));
      if (!run.result.success) throw new Error(`wait run failed: ${run.result.error?.message}`);
      walls[key].push(run.wallMs);
    }
  }
  await coordinator.close();
  figures.add('reentrant.wait.one', 'ms', walls.one, { note: `${COUNT} × ${MS} ms waits on 2 agents, one subtask at a time per agent (wall time, agent starts included; ideal ${(COUNT * MS) / 2} ms)` });
  figures.add('reentrant.wait.16', 'ms', walls.reentrant, {
    baseline: 'reentrant.wait.one',
    note: `the same from a plugin declaring concurrency 16: each agent runs up to 16 at once (ideal ${(COUNT * MS) / 32} ms plus the agents' start)`,
  });
}
