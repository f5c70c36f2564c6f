/**
 * Agent churn: one run of `--agents` subtasks, each of its own security profile (a distinct
 * maxMemory), so every subtask needs a fresh agent; warm pool off. Prints fresh agents per
 * second and the open fds before, after the run and after close(). Under a low fd limit the
 * run must still end in a Result (failed subtasks at worst), never a crashed coordinator:
 *
 *   node bench/scaling/churn.mjs [--agents=600] [--concurrency=4]
 *   bash -c 'ulimit -n 256 && node bench/scaling/churn.mjs --agents=1500'
 */
import { benchCoordinator, strategy } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';
import { extraFds, fdTargets, flags, openFds, round } from './common.mjs';

const o = flags({ agents: 600, concurrency: 4 });
const coordinator = await benchCoordinator({ resources: { maxTotalMemory: 1_000_000, maxConcurrentAllocations: 64 } });
const fdsBefore = openFds();
const targetsBefore = fdTargets();
const task = {
  id: 'churn',
  subtasks: Array.from({ length: o.agents }, (_, i) => ({
    id: `s${i}`,
    agent: 'bench-echo',
    inputs: [{ name: 'value', value: i }],
    expectedOutputs: [{ name: `o${i}` }],
    estimatedDuration: 100,
    executionConstraints: { maxMemory: 128 + i },
  })),
};
const plan = ok(await coordinator.distributeTask(task, { ...strategy('parallel', o.concurrency), failureHandling: 'graceful-degradation' }), 'distributeTask');
const t0 = performance.now();
const run = await coordinator.executeDistributedTask(plan);
const seconds = (performance.now() - t0) / 1000;
const fdsAfterRun = openFds();
await coordinator.close();
const report = { agents: o.agents, concurrency: o.concurrency, fdLimit: process.env.FD_LIMIT ?? 'unchanged', result: run.tag };
if (run.tag === 'success') {
  const subtasks = run.value.aggregatedResult.subtasks;
  const agentsUsed = new Set(subtasks.map((s) => s.agentId).filter((a) => a !== null)).size;
  const failed = subtasks.filter((s) => s.status !== 'succeeded');
  Object.assign(report, {
    succeeded: subtasks.length - failed.length,
    failed: failed.length,
    failureCodes: [...new Set(failed.map((s) => s.error?.code))],
    agentsUsed,
    seconds: round(seconds, 2),
    freshAgentsPerSecond: round(agentsUsed / seconds),
  });
} else Object.assign(report, { error: run.error.code, message: run.error.message });
Object.assign(report, { openFds: { beforeRun: fdsBefore, afterRun: fdsAfterRun, afterClose: openFds(), extraAfterClose: extraFds(targetsBefore, fdTargets()) } });
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
