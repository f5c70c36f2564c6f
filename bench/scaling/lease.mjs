/**
 * Agents leased, not churned: `--subtasks` subtasks of one profile, each idle for `--ms`, with
 * `maxConcurrentAgents: --agents` (default: the 512 × 300 ms at 64; the default
 * `resources.maxConcurrentAllocations` is 16). Prints the concurrency the run announced and
 * what capped it, the agents it started, the makespan against the ideal for that concurrency,
 * and any process warning (MaxListenersExceededWarning).
 *
 *   node bench/scaling/lease.mjs [--subtasks=512] [--ms=300] [--agents=64]
 */
import { benchCoordinator, strategy } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';
import { flags, round } from './common.mjs';

const o = flags({ subtasks: 512, ms: 300, agents: 64 });
const warnings = [];
process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`));
const coordinator = await benchCoordinator();
const concurrency = [];
const events = coordinator.events();
const listening = (async () => {
  for await (const ev of events) if (ev.type === 'concurrency') concurrency.push({ value: ev.value, limitedBy: ev.limitedBy, reason: ev.reason });
})();
const task = {
  id: 'lease',
  subtasks: Array.from({ length: o.subtasks }, (_, i) => ({ id: `s${i}`, agent: 'bench-hold', inputs: [{ name: 'ms', value: o.ms }], expectedOutputs: [{ name: `o${i}` }], estimatedDuration: o.ms })),
};
const plan = ok(await coordinator.distributeTask(task, strategy('parallel', o.agents)), 'distributeTask');
const result = ok(await coordinator.executeDistributedTask(plan), 'executeDistributedTask');
await coordinator.close();
await listening;
const agents = new Set(result.aggregatedResult.subtasks.map((s) => s.agentId)).size;
const ran = concurrency.at(-1)?.value ?? o.agents;
const ideal = Math.ceil(o.subtasks / ran) * o.ms;
const report = {
  subtasks: o.subtasks,
  maxConcurrentAgents: o.agents,
  success: result.success,
  concurrencyAnnounced: concurrency,
  agentsStarted: agents,
  makespanMs: result.executionTime,
  idealMsAtAnnouncedConcurrency: ideal,
  ratio: round(result.executionTime / ideal, 2),
  warnings,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
