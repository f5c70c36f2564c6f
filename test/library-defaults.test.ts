import { afterEach, describe, expect, it } from 'vitest';
import { createCoordinator, type MultiAgentCoordinator } from 'qicoord';

/** Issue 15 item 9: a host passes a partial strategy, as a task file may. */
describe('distributeTask with a partial strategy', () => {
  let coord: MultiAgentCoordinator | undefined;
  afterEach(async () => coord?.close());

  it('fills failureHandling, communicationProtocol and synchronizationPoints from defaults.strategy', async () => {
    const created = await createCoordinator({ config: { defaults: { strategy: { failureHandling: 'retry-cascade' } }, logging: { level: 'error' } } });
    if (created.tag === 'failure') throw new Error(created.error.message);
    coord = created.value;
    const task = { id: 't', subtasks: [{ id: 'a', agent: 'basic', expectedOutputs: [{ name: 'x' }] }, { id: 'b', agent: 'basic', inputs: [{ name: 'x' }] }] };
    const plan = await coord.distributeTask(task, { type: 'parallel', maxConcurrentAgents: 2 });
    expect(plan.tag).toBe('success');
    if (plan.tag === 'success') expect(plan.value.strategy).toMatchObject({ type: 'parallel', maxConcurrentAgents: 2, failureHandling: 'retry-cascade', synchronizationPoints: [] });
    const bad = await coord.distributeTask(task, { type: 'parallell' });
    expect(bad.tag === 'failure' && bad.error.message).toContain("unknown strategy 'parallell' (did you mean 'parallel'?)");
  });
});
