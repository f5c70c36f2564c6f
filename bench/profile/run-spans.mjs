/**
 * Per-subtask timeline of a coordinator run (N independent echo subtasks, parallel strategy, 2
 * agents), from timestamps taken at each agent's channel (AgentProcess.spawn is wrapped):
 * - flight: `execute` sent → `result` received (pipe hops + the child's work), and
 * - turnaround: `result` received → the next `execute` sent to the same agent (the
 *   coordinator's own work between two subtasks: outcome handling, scheduling, dispatch).
 * `node bench/profile/run-spans.mjs [N] [maxConcurrentAgents]`
 */
import { AgentProcess } from '../../dist/src/subagent/process.js';
import { benchCoordinator, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { summarize } from '../lib/stats.mjs';

const [n = '1000', agents = '2'] = process.argv.slice(2);
const timelines = [];
const originalSpawn = AgentProcess.spawn;
AgentProcess.spawn = function timedSpawn(plan, options) {
  const timeline = [];
  timelines.push(timeline);
  const onMessage = options.handlers.onMessage;
  const handlers = { ...options.handlers, onMessage: (m) => (m.type === 'result' && timeline.push(['result', performance.now()]), onMessage(m)) };
  const proc = originalSpawn.call(this, plan, { ...options, handlers });
  if (proc instanceof AgentProcess) {
    const send = proc.channel.send.bind(proc.channel);
    proc.channel.send = (m) => (m.type === 'execute' && timeline.push(['execute', performance.now()]), send(m));
  }
  return proc;
};

const coordinator = await benchCoordinator();
await timedRun(coordinator, independentTask('warm', 200, 'bench-echo', (i) => ({ value: i })), strategy('parallel', Number(agents)));
timelines.length = 0;
const { starts, ends } = await timedRun(coordinator, independentTask('spans', Number(n), 'bench-echo', (i) => ({ value: i })), strategy('parallel', Number(agents)));
const flight = [];
const turnaround = [];
for (const t of timelines) {
  for (let i = 0; i + 1 < t.length; i++) {
    if (t[i][0] === 'execute' && t[i + 1][0] === 'result') flight.push((t[i + 1][1] - t[i][1]) * 1000);
    if (t[i][0] === 'result' && t[i + 1][0] === 'execute') turnaround.push((t[i + 1][1] - t[i][1]) * 1000);
  }
}
const show = (name, xs) => {
  const s = summarize(xs);
  console.log(`${name.padEnd(48)} median ${s.median.toFixed(0).padStart(5)} µs  p95 ${s.p95.toFixed(0).padStart(5)}  n ${s.n}`);
};
console.log(`${n} subtasks on ${agents} agents: ${Math.round(Number(n) / ((ends.at(-1) - starts[0]) / 1000))} subtasks/s`);
show('flight: execute sent → result received', flight);
show('turnaround: result received → next execute sent', turnaround);
await coordinator.close();
