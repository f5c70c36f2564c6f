/**
 * The coordinator side of the journal's cost: the throughput case (N independent echo subtasks on
 * 2 agents, parallel) with the journal on or off, interleaved, printing per-subtask times. Profile
 * the journaled side with `node --cpu-prof --cpu-prof-dir=DIR bench/profile/journal-prof.mjs on [N] [reps]`
 * (`off` for the unjournaled side, `both` to compare).
 */
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, ok, scratchDir } from '../lib/env.mjs';
import { FIXTURE_PLUGINS, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';

const [mode = 'both', nArg = '2000', repsArg = '3'] = process.argv.slice(2);
const n = Number(nArg);
const make = async (journal) => ok(await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: FIXTURE_PLUGINS }), journal }), 'createCoordinator');
const sides = [];
if (mode !== 'on') sides.push(['off', await make(false)]);
if (mode !== 'off') sides.push(['on', await make({ dir: scratchDir('journal-prof-') })]);
for (const [, c] of sides) await timedRun(c, independentTask('warm', 200, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
for (let r = 0; r < Number(repsArg); r++) {
  for (const [key, c] of sides) {
    const cpu0 = process.cpuUsage();
    const { starts, ends } = await timedRun(c, independentTask(`jp-${key}-${r}`, n, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
    const span = ends[ends.length - 1] - starts[0];
    const cpu = process.cpuUsage(cpu0);
    console.log(`${key.padEnd(3)} ${n} subtasks: ${Math.round(n / (span / 1000))} subtasks/s, ${((span / n) * 1000).toFixed(0)} µs per subtask, coordinator CPU ${((cpu.user + cpu.system) / n).toFixed(0)} µs per subtask`);
  }
}
await Promise.all(sides.map(([, c]) => c.close()));
