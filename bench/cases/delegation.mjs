/**
 * What ctx.delegate costs: a parent delegating one trivial child at a time, each call timed in the
 * agent (request → child scheduled, run on a warm agent, outputs back), against the same run's
 * round trip of a top-level subtask on a warm agent (consecutive subtask ends of a sequential
 * chain of trivial subtasks). Interleaved rounds.
 */
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, fixture, ok } from '../lib/env.mjs';
import { chainTask, strategy, timedRun } from '../lib/coordinator.mjs';

const PLUGIN = fixture('delegate.mjs');


function parent(id, rounds) {
  return { id, subtasks: [{ id: 'p', agent: 'bench-delegate', inputs: [{ name: 'rounds', value: rounds }], expectedOutputs: [{ name: 'us' }], estimatedDuration: 100_000 }] };
}

export async function run({ figures, progress, reps }) {
  const coordinator = ok(await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: [PLUGIN], delegation: { maxDepth: 1, maxSubtasks: 100_000 } }), journal: false }), 'createCoordinator');
  const n = reps(300, 60);
  const top = [];
  const delegated = [];
  progress(`delegation round trip vs a top-level subtask's, ${n} each, interleaved`);
  for (let r = 0; r < reps(4, 2); r++) {
    const { ends } = await timedRun(coordinator, chainTask(`chain-${r}`, n, 'bench-delegate'), strategy('sequential', 1));
    // Warm: from the second end on (the first includes the agent's start).
    for (let i = 2; i < ends.length; i++) top.push((ends[i] - ends[i - 1]) * 1000);
    const { result } = await timedRun(coordinator, parent(`deleg-${r}`, n), strategy('sequential', 1));
    // From the second call on: the first starts the children's agent.
    delegated.push(...result.aggregatedResult.outputs['p'].us.slice(1));
  }
  figures.add('dispatch.topLevel.warm', 'µs', top, { note: 'round trip of a trivial top-level subtask on a warm agent (consecutive ends of a sequential chain)' });
  figures.add('delegation.rtt', 'µs', delegated, {
    baseline: 'dispatch.topLevel.warm',
    goal: { op: '<=', value: 1.5, of: 'ratio' },
    note: 'ctx.delegate of one trivial child on a warm agent, timed in the parent agent (validated, scheduled, run, outputs back)',
  });
  await coordinator.close();
}
