// A host program that embeds qicoord: no config file, a task built in code, live events
// consumed while it runs, and a clean close. Run: node examples/embed/host.mjs
import os from 'node:os';
import path from 'node:path';
import { createCoordinator } from 'qicoord';

const created = await createCoordinator({
  agentId: 'embed-host',
  config: {
    sandbox: { workspaceRoot: path.join(os.tmpdir(), 'qicoord-embed') },
    defaults: { isolationLevel: 'restricted', resourceLimits: { maxMemoryMB: 128 } },
    logging: { level: 'error' },
  },
});
if (created.tag === 'failure') {
  console.error(`cannot start: ${created.error.message}`);
  process.exit(2);
}
const coordinator = created.value;

// Consume events while the run goes on: count them by type, print lifecycle lines.
const counts = {};
const consuming = (async () => {
  for await (const event of coordinator.events()) {
    counts[event.type] = (counts[event.type] ?? 0) + 1;
    if (event.type === 'subtask-end') console.log(`event: ${event.subtaskId} ${event.status}`);
  }
})();

// Built-in 'basic' agents pass data along a small DAG: two sources and a join.
const task = {
  id: 'embedded',
  subtasks: [
    { id: 'left', agent: 'basic', inputs: [{ name: 'greeting', value: 'hello' }], expectedOutputs: [{ name: 'greeting' }], estimatedDuration: 100 },
    { id: 'right', agent: 'basic', inputs: [{ name: 'subject', value: 'world' }], expectedOutputs: [{ name: 'subject' }], estimatedDuration: 100 },
    { id: 'join', agent: 'basic', inputs: [{ name: 'greeting' }, { name: 'subject' }], expectedOutputs: [{ name: 'greeting' }, { name: 'subject' }], estimatedDuration: 100 },
  ],
};
const strategy = { type: 'hybrid', maxConcurrentAgents: 2, failureHandling: 'fail-fast', synchronizationPoints: [], communicationProtocol: 'direct' };

const plan = await coordinator.distributeTask(task, strategy, { agentId: 'embed-host' });
if (plan.tag === 'failure') {
  console.error(`cannot plan: ${plan.error.message}`);
  await coordinator.close();
  process.exit(2);
}
const run = await coordinator.executeDistributedTask(plan.value, { agentId: 'embed-host' });
await coordinator.close();
await consuming;

if (run.tag === 'failure') {
  console.error(`run failed to start: ${run.error.message}`);
  process.exit(1);
}
const joined = run.value.aggregatedResult.outputs['join'];
console.log(`result: ${joined.greeting} ${joined.subject}`);
console.log(`success: ${run.value.success}, agents: ${run.value.metrics.totalAgents}, events: ${JSON.stringify(counts)}`);
process.exit(run.value.success ? 0 : 1);
