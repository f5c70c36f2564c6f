/**
 * A long-lived host: one coordinator runs `--runs` runs of `--subtasks` independent trivial
 * subtasks. Prints the heap after GC before the first run and after each run, and the open fds
 * before the first run, after the last run and after close() (DESIGN B4 "memory held by a
 * long-lived host": heap grows < 2 MB in all; fds back to baseline after close()). The first
 * run also pays one-time costs (compiled code, schemas compiled on first use), so the growth is
 * given from before the first run and from after it.
 *
 * `--warmup=N` first runs one run of N subtasks (not counted), so the baseline already holds
 * what any first run compiles.
 *
 *   node --expose-gc bench/scaling/leaks.mjs [--runs=40] [--subtasks=2000] [--agents=4] [--warmup=0]
 */
import { benchCoordinator, independentTask, strategy } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';
import { codeSpacesMB, extraFds, fdTargets, flags, heapAfterGcMB, openFds, round } from './common.mjs';

const o = flags({ runs: 40, subtasks: 2000, agents: 4, warmup: 0 });
const fdsBefore = openFds();
const coordinator = await benchCoordinator();
async function runOnce(id, subtasks) {
  const task = independentTask(id, subtasks, 'bench-echo', (i) => ({ value: i }), 100);
  const plan = ok(await coordinator.distributeTask(task, strategy('parallel', o.agents)), 'distributeTask');
  const result = ok(await coordinator.executeDistributedTask(plan), 'executeDistributedTask');
  if (!result.success) throw new Error(`run ${id} failed: ${result.error?.message}`);
}
if (o.warmup > 0) await runOnce('warmup', o.warmup);
const heap = [await heapAfterGcMB()];
const code = [codeSpacesMB()];
const fdsCoordinator = openFds();
const targetsBefore = fdTargets();
const started = performance.now();
for (let r = 0; r < o.runs; r++) {
  await runOnce(`leak-${r}`, o.subtasks);
  heap.push(await heapAfterGcMB());
  code.push(codeSpacesMB());
  process.stderr.write(`run ${r + 1}/${o.runs}: heap after GC ${round(heap.at(-1))} MB, fds ${openFds()}\n`);
}
const seconds = (performance.now() - started) / 1000;
const fdsAfterRuns = openFds();
await coordinator.close();
const fdsAfterClose = openFds();
const report = {
  runs: o.runs,
  warmup: o.warmup,
  subtasks: o.subtasks,
  heapAfterGcMB: { beforeFirstRun: round(heap[0]), afterFirstRun: round(heap[1]), afterLastRun: round(heap.at(-1)), growth: round(heap.at(-1) - heap[0]), growthAfterFirstRun: round(heap.at(-1) - heap[1]) },
  codeSpacesMB: { beforeFirstRun: round(code[0]), afterLastRun: round(code.at(-1)), growth: round(code.at(-1) - code[0]) },
  heapGrowthOutsideCodeMB: round(heap.at(-1) - heap[0] - (code.at(-1) - code[0])),
  openFds: { beforeCoordinator: fdsBefore, beforeFirstRun: fdsCoordinator, afterLastRun: fdsAfterRuns, afterClose: fdsAfterClose, extraAfterClose: extraFds(targetsBefore, fdTargets()) },
  seconds: round(seconds),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
