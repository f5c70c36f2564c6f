/**
 * CPU profiles of the dispatch round trip: N SubAgent.execute calls of a trivial subtask on one
 * live agent. The child gets `--cpu-prof` (its plan is amended through a wrapped
 * AgentProcess.spawn; it writes its profile when it exits); run the parent with
 * `node --cpu-prof --cpu-prof-dir=DIR bench/profile/dispatch-prof.mjs DIR [N]`, then read both
 * with cpuprofile-top.mjs.
 */
import { mkdirSync } from 'node:fs';
import { AgentProcess } from '../../dist/src/subagent/process.js';
import { agentSpec, benchConfig, makeFactory, ok, subtask } from '../lib/env.mjs';

const [dir = '/tmp/qicoord-prof', count = '20000'] = process.argv.slice(2);
mkdirSync(dir, { recursive: true });
const originalSpawn = AgentProcess.spawn;
AgentProcess.spawn = function profiledSpawn(plan, options) {
  const args = [...plan.args];
  const script = args.length - 1;
  args.splice(script, 0, '--cpu-prof', `--cpu-prof-dir=${dir}`);
  return originalSpawn.call(this, { ...plan, args }, options);
};

// The default rate cap (sandbox.maxMessagesPerSecond 5000, bursts of 10,000) would stop an agent
// answering faster than 5000 subtasks/s for this long.
const config = benchConfig({ sandbox: { maxMessagesPerSecond: 1_000_000 } });
const factory = makeFactory(config);
// monitored: on Node 20 a child under the permission model does not write its --cpu-prof file.
const agent = ok(await factory.spawn(agentSpec(config, 'echo.mjs', { isolationLevel: 'monitored' })), 'spawn');
const task = subtask('rtt', ['out']);
const t0 = performance.now();
for (let i = 0; i < Number(count); i++) ok(await agent.execute(task, { value: i }), 'execute');
const ms = performance.now() - t0;
console.log(`${count} round trips: ${((ms / Number(count)) * 1000).toFixed(1)} µs each`);
await agent.terminate('done');
await factory.close();
