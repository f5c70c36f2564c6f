/**
 * Where a makespan's time over the ideal goes: for a run of COUNT × MS CPU-bound subtasks on 2
 * agents, the timeline from the event stream (receive times): start-up (executeDistributedTask
 * called → first subtask-start), per-agent busy time (Σ subtask-end − subtask-start), the gaps
 * between one subtask's end and the agent's next start, the tail (last subtask-end → run
 * returns: agent shutdown), and which agent ran what.
 * `node bench/profile/makespan-spans.mjs [strategy] [count] [ms] [reps]`
 */
import { ok } from '../lib/env.mjs';
import { benchCoordinator, independentTask, strategy } from '../lib/coordinator.mjs';
import { median } from '../lib/stats.mjs';

const [type = 'parallel', count = '16', ms = '100', reps = '5'] = process.argv.slice(2);
const coordinator = await benchCoordinator();

async function once(id) {
  const plan = ok(await coordinator.distributeTask(independentTask(id, Number(count), 'bench-burn', () => ({ ms: Number(ms) }), Number(ms)), strategy(type, 2)), 'distributeTask');
  const events = [];
  const listening = (async () => {
    for await (const ev of coordinator.events()) {
      if (ev.coordinationId !== plan.distributionId) continue;
      events.push({ ...ev, t: performance.now() });
      if (ev.type === 'run-end') break;
    }
  })();
  const t0 = performance.now();
  const result = ok(await coordinator.executeDistributedTask(plan), 'execute');
  const t1 = performance.now();
  await listening;
  const starts = events.filter((e) => e.type === 'subtask-start');
  const ends = events.filter((e) => e.type === 'subtask-end');
  const byAgent = new Map();
  for (const e of [...starts, ...ends]) byAgent.set(e.agentId, [...(byAgent.get(e.agentId) ?? []), e]);
  const gaps = [];
  const busy = [];
  const perAgent = [];
  for (const list of byAgent.values()) {
    list.sort((a, b) => a.t - b.t);
    let b = 0;
    for (let i = 0; i < list.length; i++) {
      if (list[i].type === 'subtask-end' && list[i - 1]?.type === 'subtask-start') b += list[i].t - list[i - 1].t;
      if (list[i].type === 'subtask-start' && list[i - 1]?.type === 'subtask-end') gaps.push(list[i].t - list[i - 1].t);
      if (process.env.GAPS && list[i].type === "subtask-start" && list[i - 1]?.type === "subtask-end" && list[i].t - list[i - 1].t > 1) console.log("gap", (list[i].t - list[i - 1].t).toFixed(1), "at", (list[i - 1].t - t0).toFixed(0));
    }
    busy.push(b);
    perAgent.push(list.filter((e) => e.type === 'subtask-start').length);
  }
  return {
    wall: t1 - t0,
    executionTime: result.executionTime,
    startup: starts[0].t - t0,
    secondAgentStart: Math.min(...[...byAgent.values()].map((l) => l[0].t)) === starts[0].t ? [...byAgent.values()].map((l) => l[0].t - t0).sort((a, b) => a - b)[1] : undefined,
    tail: t1 - Math.max(...ends.map((e) => e.t)),
    gapMedian: gaps.length > 0 ? median(gaps) : 0,
    gapSum: gaps.reduce((a, b) => a + b, 0),
    busyPerAgent: busy.map((b) => Math.round(b)),
    subtasksPerAgent: perAgent,
    agents: byAgent.size,
    lastEndSpread: (() => {
      const lastEnds = [...byAgent.values()].map((l) => l.filter((e) => e.type === 'subtask-end').at(-1).t);
      return Math.max(...lastEnds) - Math.min(...lastEnds);
    })(),
  };
}

await once('warm');
for (let r = 0; r < Number(reps); r++) {
  const x = await once(`m${r}`);
  console.log(
    `wall ${x.wall.toFixed(0)} ms (executionTime ${x.executionTime}) | start-up → 1st subtask ${x.startup.toFixed(1)}, 2nd agent's 1st subtask ${x.secondAgentStart?.toFixed(1)} | ` +
      `agents ${x.agents}, subtasks/agent ${x.subtasksPerAgent.join('+')}, busy/agent ${x.busyPerAgent.join(' / ')} ms | gaps median ${x.gapMedian.toFixed(2)} ms, Σ ${x.gapSum.toFixed(1)} | ` +
      `agents' last ends ${x.lastEndSpread.toFixed(0)} ms apart | tail ${x.tail.toFixed(1)} ms`,
  );
}
await coordinator.close();
