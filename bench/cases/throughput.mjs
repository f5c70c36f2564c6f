/**
 * Throughput of trivial subtasks at 1, 2 and 4 agents: qicoord (parallel strategy, warm agents
 * of the same run) against tinypool `child_process` and a pipelined bare fork (16 messages in
 * flight per child), rounds interleaved; and the coordinator's own CPU per subtask
 * (`process.cpuUsage()` of this process over the same window, divided by the subtasks).
 *
 * Every child gets the agents' node flags and empty env (the bare forks also their wrappers).
 */
import Tinypool from 'tinypool';
import { agentSpec, benchConfig, fixture, forkLike, likeForLike } from '../lib/env.mjs';
import { benchCoordinator, independentTask, strategy } from '../lib/coordinator.mjs';
import { killGroup } from '../lib/proc.mjs';

export const AGENT_COUNTS = [1, 2, 4];
/** Messages a pipelined bare child has in flight at once. */
const PIPELINE = 16;

/** Pipelined echo on `children`: `total` messages, `PIPELINE` in flight on each child; msgs/s. */
export async function pipelinedFork(children, total) {
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          let inFlight = 0;
          const pump = () => {
            while (inFlight < PIPELINE && sent < total) {
              sent++;
              inFlight++;
              child.send({ value: sent });
            }
            if (inFlight === 0) {
              child.off('message', onMessage);
              resolve();
            }
          };
          const onMessage = () => {
            inFlight--;
            pump();
          };
          child.on('message', onMessage);
          pump();
        }),
    ),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** tinypool: `total` tasks with at most `window` outstanding; tasks/s. */
export async function tinypoolRate(pool, total, window = 64) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < total) {
        const i = next++;
        await pool.run(i);
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/**
 * One coordinator run of `n` trivial subtasks on `agents` agents, timed from the moment its
 * last agent starts its first subtask to the last `subtask-end` (agent starts excluded, as
 * tinypool's and the bare fork's are: its pool is started before it is timed; the subtasks that
 * ended before that moment are not counted): subtasks/s and the coordinator's CPU µs per subtask
 * over the same window.
 */
export async function coordinatorRate(coordinator, id, n, agents) {
  const plan = await coordinator.distributeTask(independentTask(id, n, 'bench-echo', (i) => ({ value: i })), strategy('parallel', agents));
  if (plan.tag === 'failure') throw new Error(`distributeTask: ${plan.error.message}`);
  const runId = plan.value.distributionId;
  const started = new Set();
  let first;
  let last;
  let ended = 0;
  let endedBefore = 0;
  const events = coordinator.events();
  const listening = (async () => {
    for await (const ev of events) {
      if (ev.coordinationId !== runId) continue;
      if (ev.type === 'subtask-start' && first === undefined) {
        started.add(ev.agentId);
        if (started.size === agents) {
          first = { t: performance.now(), cpu: process.cpuUsage() };
          endedBefore = ended;
        }
      } else if (ev.type === 'subtask-end' && ++ended === n) last = { t: performance.now(), cpu: process.cpuUsage() };
      else if (ev.type === 'run-end') break;
    }
  })();
  const result = await coordinator.executeDistributedTask(plan.value);
  await listening;
  if (result.tag === 'failure' || !result.value.success || first === undefined || last === undefined) throw new Error(`bench run ${id} failed`);
  const timed = n - endedBefore;
  const cpuUs = last.cpu.user + last.cpu.system - first.cpu.user - first.cpu.system;
  return { rate: timed / ((last.t - first.t) / 1000), cpuUsPerSubtask: cpuUs / timed };
}

export async function run({ figures, progress, reps }) {
  const config = benchConfig();
  const launch = await likeForLike(config, agentSpec(config, 'echo.mjs'), fixture('bare-echo.cjs'));
  const n = reps(3000, 1000);
  // Nine rounds: the per-round ratios behind "more agents never slower" swing ±30 % on a shared host.
  const rounds = reps(9, 2);
  // The default config: a subtask's result answers the coordinator and is not charged to the rate cap.
  const coordinator = await benchCoordinator();
  const bare = AGENT_COUNTS.map((k) => Array.from({ length: k }, () => forkLike(launch, fixture('bare-echo.cjs'))));
  const pools = AGENT_COUNTS.map(
    (k) => new Tinypool({ filename: fixture('tinypool-task.cjs'), runtime: 'child_process', minThreads: k, maxThreads: k, env: {}, execArgv: launch.nodeFlags }),
  );
  const series = Object.fromEntries(AGENT_COUNTS.map((k) => [k, { ours: [], cpu: [], pool: [], fork: [] }]));
  progress(`warm-up: ${AGENT_COUNTS.join(', ')} agents`);
  for (const [i, k] of AGENT_COUNTS.entries()) {
    await coordinatorRate(coordinator, `warm-${k}`, 500, k);
    await tinypoolRate(pools[i], 2000);
    await pipelinedFork(bare[i], 2000);
  }
  for (let r = 0; r < rounds; r++) {
    progress(`round ${r + 1}/${rounds}: ${n} trivial subtasks at ${AGENT_COUNTS.join(', ')} agents`);
    for (const [i, k] of AGENT_COUNTS.entries()) {
      const ours = await coordinatorRate(coordinator, `tp-${k}-${r}`, n, k);
      series[k].ours.push(ours.rate);
      series[k].cpu.push(ours.cpuUsPerSubtask);
      series[k].pool.push(await tinypoolRate(pools[i], n));
      series[k].fork.push(await pipelinedFork(bare[i], n));
    }
  }
  await coordinator.close();
  await Promise.all(pools.map((p) => p.destroy()));
  await Promise.all(bare.flat().map(killGroup));

  for (const k of AGENT_COUNTS) {
    const s = series[k];
    figures.add(`tinypool.child_process.${k}`, 'subtasks/s', s.pool, { note: `tinypool child_process, ${k} worker(s), ${n} trivial tasks, 64 outstanding` });
    figures.add(`throughput.fork.pipelined.${k}`, 'subtasks/s', s.fork, { note: `bare fork echo, ${k} child(ren) with the agents' wrappers/flags/env, ${PIPELINE} messages in flight each` });
    figures.add(`throughput.${k}agents`, 'subtasks/s', s.ours, {
      baseline: `tinypool.child_process.${k}`,
      goal: { op: '>=', value: 1, of: 'ratio' },
      note: `coordinator run, parallel strategy, ${n} trivial subtasks on ${k} agent(s), from the last agent's first subtask-start (agent starts excluded) to the last subtask-end; ratio = ours / tinypool`,
    });
    figures.add(`coordinator.cpuPerSubtask.${k}`, 'µs', s.cpu, {
      goal: { op: '<=', value: 25 },
      note: `process.cpuUsage() of the coordinator process over the same window / the subtasks that ended in it, ${k} agent(s)`,
    });
  }
  // More agents never slower than fewer: each round's ratio of one count's rate to the count
  // before it (measured minutes apart at most, under the same load), as the journal group pairs
  // its rounds; the figure is the median of those ratios, not a ratio of medians taken from
  // different rounds.
  for (const [i, k] of AGENT_COUNTS.entries()) {
    if (i === 0) continue;
    const prev = AGENT_COUNTS[i - 1];
    const ratios = series[k].ours.map((rate, r) => rate / series[prev].ours[r]);
    figures.add(`throughput.scaling.${prev}to${k}`, '×', ratios, { goal: { op: '>=', value: 1 }, note: `throughput at ${k} agents / at ${prev}, per round (the rounds run the counts back to back); median of the rounds` });
  }
}
