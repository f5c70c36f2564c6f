/**
 * The coordinator side of the journal's cost: the throughput case (N independent echo subtasks on
 * 2 agents, parallel) with the journal on or off, interleaved with the order alternating, printing
 * per-subtask times, the coordinator's CPU per subtask over the throughput span (first start to
 * last end: the journal's head and close are outside it) — its whole process, and its main
 * thread alone (from /proc/self/task/PID/schedstat, in ns: the journal's work is all on it, while
 * the process's figure also moves with V8's helper threads) — and, with both sides, the median
 * of the rounds' on/off throughput ratios. Profile the journaled side with
 * `node --cpu-prof --cpu-prof-dir=DIR bench/profile/journal-prof.mjs on [N] [reps]` (`off` for the
 * unjournaled side, `both` to compare), then `node bench/profile/journal-prof.mjs top FILE.cpuprofile N`
 * for the journal's own share of it: the self time of the journal's modules (dist/src/journal/**,
 * the run's journal sink), the checksum and the file writes, per subtask of the N profiled.
 */
import { readFileSync } from 'node:fs';
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, ok, scratchDir } from '../lib/env.mjs';
import { FIXTURE_PLUGINS, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { median } from '../lib/stats.mjs';

/** CPU time of this process's main thread so far, in µs (Linux). */
const mainThreadUs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;

const [mode = 'both', nArg = '2000', repsArg = '3'] = process.argv.slice(2);
if (mode === 'top') {
  journalShare(nArg, Number(repsArg));
} else {
  await compare(mode, Number(nArg), Number(repsArg));
}

async function compare(mode, n, reps) {
  const make = async (journal) => ok(await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: FIXTURE_PLUGINS }), journal }), 'createCoordinator');
  const sides = [];
  if (mode !== 'on') sides.push(['off', await make(false)]);
  if (mode !== 'off') sides.push(['on', await make({ dir: scratchDir('journal-prof-') })]);
  for (const [, c] of sides) await timedRun(c, independentTask('warm', 1000, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
  const ratios = [];
  for (let r = 0; r < reps; r++) {
    const rate = {};
    for (const [key, c] of r % 2 === 0 ? sides : [...sides].reverse()) {
      const { span, cpu, mainUs } = await spanRun(c, independentTask(`jp-${key}-${r}`, n, 'bench-echo', (i) => ({ value: i })));
      rate[key] = n / (span / 1000);
      console.log(
        `${key.padEnd(3)} ${n} subtasks: ${Math.round(rate[key])} subtasks/s, ${((span / n) * 1000).toFixed(0)} µs per subtask, coordinator CPU ${((cpu.user + cpu.system) / n).toFixed(1)} µs per subtask (user ${(cpu.user / n).toFixed(1)}, system ${(cpu.system / n).toFixed(1)}; main thread ${(mainUs / n).toFixed(2)})`,
      );
    }
    if (rate.on !== undefined && rate.off !== undefined) ratios.push(rate.on / rate.off);
  }
  if (ratios.length > 0) console.log(`on/off throughput, median of ${ratios.length} rounds: ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(' ')})`);
  await Promise.all(sides.map(([, c]) => c.close()));
}

/**
 * One run, timed from its first subtask's start to its last subtask's end (the throughput span),
 * with the coordinator process's CPU over that span alone (the journal's head and close, before
 * and after it, are not in it).
 */
async function spanRun(coordinator, task) {
  const plan = ok(await coordinator.distributeTask(task, strategy('parallel', 2)), 'distributeTask');
  const events = coordinator.events();
  let first;
  let cpu0;
  let last;
  let cpu;
  let main0;
  let mainUs;
  let ended = 0;
  const listening = (async () => {
    for await (const ev of events) {
      if (ev.coordinationId !== plan.distributionId) continue;
      if (ev.type === 'subtask-start' && first === undefined) {
        cpu0 = process.cpuUsage();
        main0 = mainThreadUs();
        first = performance.now();
      } else if (ev.type === 'subtask-end' && ++ended === task.subtasks.length) {
        cpu = process.cpuUsage(cpu0);
        mainUs = mainThreadUs() - main0;
        last = performance.now();
      } else if (ev.type === 'run-end') break;
    }
  })();
  const result = ok(await coordinator.executeDistributedTask(plan), 'executeDistributedTask');
  await listening;
  if (!result.success) throw new Error(`run ${task.id} failed: ${result.error?.code}`);
  return { span: last - first, cpu, mainUs };
}

/** The journal's self time in a .cpuprofile, in total and per subtask (`subtasks`: how many the profiled runs executed). */
function journalShare(file, subtasks) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const mine = (f) => /\/dist\/src\/journal\/|run-journal-sink\.js/.test(f.url) || (f.url === 'node:zlib' && f.functionName === 'crc32') || (f.url === '' && /^(writeString|writeBuffer)$/.test(f.functionName));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const { callFrame: f } = byId.get(profile.samples[i]);
    const us = profile.timeDeltas[i] ?? 0;
    if (f.functionName !== '(idle)') total += us;
    if (!mine(f)) continue;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, 'dist/')}`;
    self.set(key, (self.get(key) ?? 0) + us);
  }
  const journal = [...self.values()].reduce((a, b) => a + b, 0);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1])) console.log(`${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
  console.log(`journal: ${(journal / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms busy; ${(journal / subtasks).toFixed(1)} µs per subtask of ${(total / subtasks).toFixed(0)} µs busy per subtask (${subtasks} subtasks)`);
}
