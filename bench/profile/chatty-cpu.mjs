/**
 * Many messages per subtask: a plugin that writes `count` log lines before its result (fixture
 * `chatty.mjs`), N `SubAgent.execute` calls on one live agent; wall time, coordinator CPU and the
 * agent's CPU per subtask. Shows what coalescing a turn's frames into one write saves when a
 * child talks.
 * `node bench/profile/chatty-cpu.mjs [N] [count] [rounds]`.
 */
import { readFileSync } from 'node:fs';
import { agentSpec, benchConfig, makeFactory, ok, subtask } from '../lib/env.mjs';

/** CPU time of a process so far, µs (utime + stime from /proc, in clock ticks of 10 ms). */
function processCpuUs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const [n = '1000', count = '20', rounds = '3'] = process.argv.slice(2);
const config = benchConfig({ logging: { level: 'debug' }, sandbox: { maxMessagesPerSecond: 10_000_000 } });
const factory = makeFactory(config);
const agent = ok(await factory.spawn(agentSpec(config, 'chatty.mjs')), 'spawn');
const task = subtask('chatty', ['out']);
for (let i = 0; i < 200; i++) ok(await agent.execute(task, { count: Number(count) }), 'execute');
for (let r = 0; r < Number(rounds); r++) {
  const a0 = processCpuUs(agent.pid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < Number(n); i++) ok(await agent.execute(task, { count: Number(count) }), 'execute');
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const a = processCpuUs(agent.pid) - a0;
  console.log(`${n} subtasks × ${count} log lines: ${((wall / Number(n)) * 1000).toFixed(0)} µs each (wall), coordinator CPU ${((c.user + c.system) / Number(n)).toFixed(0)} µs, agent CPU ${(a / Number(n)).toFixed(0)} µs each`);
}
await agent.terminate('done');
await factory.close();
