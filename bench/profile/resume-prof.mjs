/**
 * Resume of a large journaled run, coordinator side: runs N independent echo subtasks journaled,
 * cancels once half ended, then times `resume` until its first new subtask starts, per phase as
 * the coordinator's own events show it. Profile the resume with
 * `node --cpu-prof --cpu-prof-dir=DIR bench/profile/resume-prof.mjs [N]` (the profile covers the
 * first run too; compare with N small).
 */
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, ok, scratchDir } from '../lib/env.mjs';
import { FIXTURE_PLUGINS, independentTask, strategy } from '../lib/coordinator.mjs';

const total = Number(process.argv[2] ?? 10_000);
const dir = scratchDir('resume-prof-');
const make = async () => ok(await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: FIXTURE_PLUGINS }), journal: { dir } }), 'createCoordinator');
const first = await make();
const plan = ok(await first.distributeTask(independentTask('rp', total, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2)), 'distributeTask');
const events = first.events();
const running = first.executeDistributedTask(plan);
let ended = 0;
for await (const ev of events) if (ev.type === 'subtask-end' && ++ended >= total / 2) break;
await first.cancel('stop halfway');
await running;
await first.close();

const second = await make();
const resumed = second.events();
const t0 = performance.now();
const since = Date.now();
const resuming = second.resume(plan.distributionId);
let runStart;
for await (const ev of resumed) {
  if (ev.type === 'run-start' && runStart === undefined) runStart = performance.now() - t0;
  if (ev.type === 'subtask-start' && ev.at >= since) {
    console.log(`${total} subtasks: run-start (journal read, checks, plan, replay) after ${runStart?.toFixed(0)} ms; first new subtask started after ${(performance.now() - t0).toFixed(0)} ms`);
    break;
  }
}
await second.cancel('measured');
await resuming;
await second.close();
