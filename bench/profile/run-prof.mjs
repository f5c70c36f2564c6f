/**
 * The coordinator side of a run of many trivial subtasks (the throughput case): distribute,
 * then execute N independent echo subtasks on 2 agents with the parallel strategy, printing the
 * throughput and how the per-subtask time grows with N. Profile with
 * `node --cpu-prof --cpu-prof-dir=DIR bench/profile/run-prof.mjs [N...]`.
 */
import { benchCoordinator, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';

const sizes = process.argv.slice(2).map(Number);
const coordinator = await benchCoordinator();
await timedRun(coordinator, independentTask('warm', 200, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
for (const n of sizes.length > 0 ? sizes : [250, 1000, 4000]) {
  const { starts, ends, wallMs } = await timedRun(coordinator, independentTask(`tp-${n}`, n, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
  const span = ends[ends.length - 1] - starts[0];
  console.log(`${String(n).padStart(6)} subtasks: ${Math.round(n / (span / 1000))} subtasks/s, ${((span / n) * 1000).toFixed(0)} µs per subtask (wall ${wallMs.toFixed(0)} ms incl. agent start/stop)`);
}
await coordinator.close();
