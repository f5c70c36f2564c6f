/**
 * The coordinator's CPU per subtask on the agent level alone: N `SubAgent.execute` calls of a
 * trivial subtask on one live agent (no run around them), timed and measured with
 * process.cpuUsage(). `node bench/profile/agent-cpu.mjs [N] [rounds]` prints one line per round.
 */
import { agentSpec, benchConfig, makeFactory, ok, subtask } from '../lib/env.mjs';

const [count = '5000', rounds = '5'] = process.argv.slice(2);
// The default rate cap would stop an agent answering faster than 5,000 subtasks/s for long.
const config = benchConfig({ sandbox: { maxMessagesPerSecond: 1_000_000 } });
const factory = makeFactory(config);
const agent = ok(await factory.spawn(agentSpec(config, 'echo.mjs')), 'spawn');
const task = subtask('cpu', ['out']);
for (let i = 0; i < 1000; i++) ok(await agent.execute(task, { value: i }), 'execute');
for (let r = 0; r < Number(rounds); r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < Number(count); i++) ok(await agent.execute(task, { value: i }), 'execute');
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  console.log(`${count} executes: ${((wall / Number(count)) * 1000).toFixed(1)} µs each (wall), coordinator CPU ${((c.user + c.system) / Number(count)).toFixed(1)} µs each (user ${(c.user / Number(count)).toFixed(1)}, system ${(c.system / Number(count)).toFixed(1)})`);
}
await agent.terminate('done');
await factory.close();
