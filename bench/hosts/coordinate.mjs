/**
 * A coordinator in its own Node process (so the bench harness does not pollute its memory or
 * CPU figures), driven over IPC by the bench:
 * - `rss`: runs 8 holder subtasks on 8 agents; once all 8 run, reports its pid, the agents'
 *   pids and its own memoryUsage, then waits for 'done' and closes.
 * - `monitor`: spawns 8 idle agents, then measures its own CPU time (process.cpuUsage) over
 *   windows while they are polled, stops them, and measures the same windows with none.
 */
import { benchCoordinator, independentTask, strategy } from '../lib/coordinator.mjs';
import { agentSpec, benchConfig, ok } from '../lib/env.mjs';

const [mode, windowMs = '2000', windows = '3'] = process.argv.slice(2);
const send = (m) => new Promise((resolve) => process.send(m, resolve));
const message = () => new Promise((resolve) => process.once('message', resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU percent of one core this process used over `ms` of wall time. */
async function cpuPercent(ms) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
}

async function rss() {
  const coordinator = await benchCoordinator();
  const plan = ok(await coordinator.distributeTask(independentTask('rss', 8, 'bench-hold', () => ({ ms: 60_000 }), 1000), strategy('parallel', 8)), 'distributeTask');
  let started = 0;
  const live = new Promise((resolve) => {
    void (async () => {
      for await (const ev of coordinator.events()) if (ev.type === 'subtask-start' && ++started === 8) resolve();
    })();
  });
  const running = coordinator.executeDistributedTask(plan);
  await live;
  await sleep(300);
  const agents = ok(await coordinator.getActiveAgents(), 'getActiveAgents').map((a) => a.pid);
  await send({ pid: process.pid, agents, memory: process.memoryUsage() });
  await message();
  await coordinator.close();
  await running;
}

async function monitor() {
  const coordinator = await benchCoordinator();
  const spec = agentSpec(benchConfig(), 'echo.mjs');
  for (let i = 0; i < 8; i++) ok(await coordinator.spawnSubAgent(spec), 'spawnSubAgent');
  await sleep(500);
  const withAgents = [];
  for (let w = 0; w < Number(windows); w++) withAgents.push(await cpuPercent(Number(windowMs)));
  for (const a of ok(await coordinator.getActiveAgents(), 'getActiveAgents')) ok(await coordinator.terminateSubAgent(a.id, 'bench'), 'terminate');
  await sleep(500);
  const without = [];
  for (let w = 0; w < Number(windows); w++) without.push(await cpuPercent(Number(windowMs)));
  await coordinator.close();
  await send({ withAgents, without });
}

await (mode === 'rss' ? rss() : monitor());
process.disconnect();
