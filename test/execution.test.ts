/**
 * The execution engine on real SubAgent processes: failure handling (fail-fast,
 * graceful-degradation, retry-cascade), fallback actions (extend-deadline), the
 * memory budget, live monitoring, the event stream and coordinateAgents.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskDistribution } from '../src/distribution/types.js';
import type { CoordinatorEvent } from '../src/index.js';
import type { SubAgentSpecificationInput } from '../src/schemas/spec.js';
import type { SynchronizationPoint } from '../src/schemas/strategy.js';
import type { SubTask } from '../src/schemas/task.js';
import { err, ok } from './helpers.js';
import {
  eventsOf,
  interval,
  liveCoordinator,
  maxOverlap,
  output,
  point,
  processesUnder,
  report,
  STEPS_PLUGIN,
  STALLING_STRATEGY,
  strategy,
  sub,
  task,
  type LiveCoordinator,
} from './live-helpers.js';
import { waitUntil } from './sandbox-helpers.js';

let live: LiveCoordinator | undefined;

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
});

async function coordinator(config: Parameters<typeof liveCoordinator>[0] = {}): Promise<LiveCoordinator> {
  live = await liveCoordinator(config);
  return live;
}

function starts(events: readonly CoordinatorEvent[], subtaskId: string) {
  return eventsOf(events, 'subtask-start').filter((e) => e.subtaskId === subtaskId);
}

function agentSpec(): SubAgentSpecificationInput {
  return {
    agentType: 'specialized',
    capabilities: ['steps'],
    plugin: STEPS_PLUGIN,
    resourceLimits: { maxMemoryMB: 128, maxExecutionTimeMs: 20_000, maxConcurrentOperations: 2, maxToolCalls: 10, allowedNetworkHosts: [], maxFileOperations: 10 },
    securityConstraints: {
      sandboxEnabled: true,
      allowedTools: ['read'],
      prohibitedOperations: [],
      networkAccessLevel: 'none',
      fileSystemAccess: 'restricted',
      resourceMonitoring: true,
    },
    isolationLevel: 'restricted',
    parentAgentId: 'qicoord',
  };
}

describe('fail-fast', () => {
  it('the first failure cancels the run: running agents stopped, pending subtasks cancelled, success false', async () => {
    const c = await coordinator();
    const t = task(
      'ff',
      [
        // `long` would sleep for a minute: only a stopped agent lets the run end now.
        sub('long', [{ do: 'send', to: 'bad', body: 'running' }, { do: 'sleep', ms: 60_000 }]),
        sub('bad', [{ do: 'receive' }, { do: 'throw', message: 'bad input' }]),
        sub('after-long', [{ do: 'busy', ms: 10 }]),
        sub('after-bad', [{ do: 'busy', ms: 10 }]),
      ],
      { 'after-long': ['long'], 'after-bad': ['bad'] },
    );
    const result = await c.run(t, strategy('hybrid', { failureHandling: 'fail-fast' }));
    // No agent of the run is left once it returned.
    expect(processesUnder(c.root)).toEqual([]);
    expect(result.success).toBe(false);
    expect(result.error).toMatchObject({ code: 'AGENT_ERROR', category: 'BUSINESS' });
    expect(result.error?.message).toContain('bad input');
    expect(report(result, 'bad').status).toBe('failed');
    expect(report(result, 'long')).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    // `long`'s agent was stopped by the cancellation, not left to finish its minute.
    const stopped = eventsOf(c.events, 'agent').find((e) => e.event.type === 'status' && e.event.agentId === report(result, 'long').agentId && e.event.status === 'terminated');
    expect(stopped?.event).toMatchObject({ reason: expect.stringContaining('run cancelled') });
    expect(report(result, 'after-long')).toMatchObject({ status: 'cancelled', attempts: 0, startedAt: null, error: { code: 'CANCELLED', context: { cause: 'CANCELLED' } } });
    expect(report(result, 'after-bad')).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(result.aggregatedResult.outputs).toEqual({});
    const runEnd = eventsOf(c.events, 'run-end').at(-1);
    expect(runEnd).toMatchObject({ success: false, status: 'failed' });
    // Every subtask got exactly one end event.
    const ends = eventsOf(c.events, 'subtask-end').map((e) => `${e.subtaskId}:${e.status}`).sort();
    expect(ends).toEqual(['after-bad:cancelled', 'after-long:cancelled', 'bad:failed', 'long:cancelled']);
    expect(ok(await c.coordinator.monitorExecution(result.coordinationId))).toMatchObject({ status: 'failed', completedTasks: 0, totalTasks: 4 });
  });
});

describe('fail-fast while an agent starts', () => {
  it('stops the agent that was starting and cancels its subtask', async () => {
    const c = await coordinator();
    // After `first`, `fails` reuses its agent and throws at once while `other` (another profile) still starts its own.
    const t = task(
      'ff-spawn',
      [
        sub('first', [{ do: 'busy', ms: 10 }]),
        sub('fails', [{ do: 'throw' }]),
        sub('other', [{ do: 'busy', ms: 10 }], { executionConstraints: { maxMemory: 100 } }),
      ],
      { fails: ['first'], other: ['first'] },
    );
    const result = await c.run(t, strategy('hybrid', { failureHandling: 'fail-fast' }));
    expect(processesUnder(c.root)).toEqual([]);
    expect(result.success).toBe(false);
    expect(report(result, 'fails').status).toBe('failed');
    expect(report(result, 'fails').agentId).toBe(report(result, 'first').agentId);
    expect(report(result, 'other')).toMatchObject({ status: 'cancelled', attempts: 1, agentId: null, startedAt: null });
    expect(starts(c.events, 'other')).toEqual([]);
  });
});

describe('graceful-degradation', () => {
  for (const type of ['sequential', 'parallel', 'hybrid', 'adaptive'] as const) {
    it(`${type}: skips a failed subtask's dependents, finishes the independent branch and keeps its outputs`, async () => {
      const c = await coordinator();
      const t = task(
        'gd',
        [
          sub('a', [{ do: 'throw', message: 'a breaks' }]),
          sub('b', [{ do: 'busy', ms: 10 }]),
          sub('c', [{ do: 'busy', ms: 10 }]),
          sub('x', [{ do: 'busy', ms: 30 }]),
          sub('y', [{ do: 'busy', ms: 30 }]),
        ],
        { b: ['a'], c: ['a', 'b'], y: ['x'] },
      );
      const result = await c.run(t, strategy(type));
      expect(result.success).toBe(false);
      expect(result.error).toMatchObject({ code: 'AGENT_ERROR' });
      expect(report(result, 'a')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'AGENT_ERROR', category: 'BUSINESS' } });
      for (const id of ['b', 'c']) {
        expect(report(result, id)).toMatchObject({ status: 'skipped', attempts: 0, startedAt: null, error: { code: 'SKIPPED', category: 'BUSINESS' } });
      }
      expect(report(result, 'x').status).toBe('succeeded');
      expect(report(result, 'y').status).toBe('succeeded');
      expect(Object.keys(result.aggregatedResult.outputs).sort()).toEqual(['x', 'y']);
      expect(output(result, 'y').subtask).toBe('y');
      expect(eventsOf(c.events, 'subtask-end').map((e) => `${e.subtaskId}:${e.status}`).sort()).toEqual(['a:failed', 'b:skipped', 'c:skipped', 'x:succeeded', 'y:succeeded']);
      expect(eventsOf(c.events, 'run-end').at(-1)).toMatchObject({ success: false, status: 'failed' });
    });
  }

  it('a subtask whose agent can never fit the memory budget fails with INSUFFICIENT_RESOURCES; the others still run', async () => {
    const c = await coordinator({ resources: { maxTotalMemory: 300 } });
    const t = task('too-big', [sub('huge', [{ do: 'busy', ms: 10 }], { executionConstraints: { maxMemory: 400 } }), sub('small', [{ do: 'busy', ms: 10 }])]);
    const result = await c.run(t, strategy('sequential'));
    expect(result.success).toBe(false);
    expect(report(result, 'huge')).toMatchObject({ status: 'failed', agentId: null, error: { code: 'INSUFFICIENT_RESOURCES', category: 'RESOURCE' } });
    expect(report(result, 'small').status).toBe('succeeded');
  });
});

describe('budget refusals', () => {
  it('a run in which no agent could start reports no agents and no busy time', async () => {
    const c = await coordinator({ resources: { maxTotalMemory: 100 } });
    const result = await c.run(task('none', [sub('huge', [{ do: 'busy', ms: 10 }], { executionConstraints: { maxMemory: 200 } })]), strategy('adaptive'));
    expect(result.success).toBe(false);
    expect(result.error?.code).toBe('INSUFFICIENT_RESOURCES');
    expect(result.results).toEqual([]);
    expect(result.metrics).toMatchObject({ totalAgents: 0, successfulAgents: 0, averageExecutionTime: 0, coordinationEfficiency: 0 });
    expect(result.aggregatedResult).toMatchObject({ totalResults: 0, executionSummary: { totalExecutionTime: 0, averageExecutionTime: 0, tasksCompleted: 0 } });
  });

  it('agents spawned directly count against the budget: a run agent that would not fit fails, and its budget is given back', async () => {
    const c = await coordinator({ resources: { maxTotalMemory: 300 } });
    const direct = ok(await c.coordinator.spawnSubAgent({ ...agentSpec(), resourceLimits: { ...agentSpec().resourceLimits, maxMemoryMB: 200 } }));
    const result = await c.run(task('crowded', [sub('needs-150', [{ do: 'busy', ms: 10 }], { executionConstraints: { maxMemory: 150 } })]), strategy('sequential'));
    expect(report(result, 'needs-150')).toMatchObject({ status: 'failed', agentId: null, error: { code: 'INSUFFICIENT_RESOURCES' } });
    expect(report(result, 'needs-150').error?.message).toContain('resources.maxTotalMemory');
    ok(await c.coordinator.terminateSubAgent(direct.id, 'done'));
    // The run's 150 MB came back: the whole budget can be allocated again.
    const all = ok(await c.coordinator.allocateResources([{ type: 'memory', amount: 300, unit: 'MB', priority: 'required' }], { maxTotalMemory: 300, maxConcurrentAllocations: 4, allowSharedResources: false }));
    ok(await c.coordinator.releaseResources(all));
  });
});

describe('cancellation', () => {
  it("a task's timeLimit cancels the run, even while a subtask waits for budget held elsewhere", async () => {
    const c = await coordinator({ resources: { maxTotalMemory: 300 } });
    // Someone else holds 200 of the 300 MB: `waits` (150 MB) can never get its agent.
    const held = ok(await c.coordinator.allocateResources([{ type: 'memory', amount: 200, unit: 'MB', priority: 'required' }], { maxTotalMemory: 300, maxConcurrentAllocations: 4, allowSharedResources: false }));
    const t = task('late', [sub('runs', [{ do: 'sleep', ms: 60_000 }], { executionConstraints: { maxMemory: 64 } }), sub('waits', [{ do: 'busy', ms: 10 }], { executionConstraints: { maxMemory: 150 } })], {}, { timeLimit: 400 });
    const result = await c.run(t, strategy('hybrid'));
    expect(processesUnder(c.root)).toEqual([]);
    expect(result.success).toBe(false);
    expect(result.error).toMatchObject({ code: 'TIME_LIMIT', category: 'TIMEOUT' });
    expect(report(result, 'runs').status).toBe('cancelled');
    expect(report(result, 'waits')).toMatchObject({ status: 'cancelled', agentId: null, startedAt: null });
    expect(eventsOf(c.events, 'run-end').at(-1)).toMatchObject({ success: false, status: 'failed' });
    ok(await c.coordinator.releaseResources(held));
  });

  it('close() cancels a running execution and stops its agents', async () => {
    const c = await coordinator();
    const distribution = await c.plan(task('closing', [sub('forever', [{ do: 'progress', fraction: 0.1 }, { do: 'sleep', ms: 60_000 }])]), strategy('sequential'));
    const running = c.coordinator.executeDistributedTask(distribution);
    expect(await waitUntil(() => c.events.some((e) => e.type === 'agent' && e.event.type === 'progress'), 10_000)).toBe(true);
    await c.coordinator.close();
    const result = ok(await running);
    expect(result.success).toBe(false);
    expect(result.error?.code).toBe('CANCELLED');
    expect(report(result, 'forever').status).toBe('cancelled');
    expect(processesUnder(c.root)).toEqual([]);
    expect(err(await c.coordinator.monitorExecution(distribution.distributionId)).code).toBe('CANCELLED');
    // The stream ends with the run's end, not before it.
    expect(c.events.at(-1)).toMatchObject({ type: 'run-end', coordinationId: distribution.distributionId, success: false, status: 'cancelled' });
  });
});

describe('retry-cascade', () => {
  it('retries a SYSTEM failure on a fresh agent and records the attempts', async () => {
    const c = await coordinator();
    const t = task('rc', [sub('flaky', [{ do: 'exit', code: 3, attempt: 1 }, { do: 'busy', ms: 10 }]), sub('then', [{ do: 'busy', ms: 10 }])], { then: ['flaky'] });
    const result = await c.run(t, strategy('hybrid', { failureHandling: 'retry-cascade' }));
    expect(result.success).toBe(true);
    expect(report(result, 'flaky')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(report(result, 'flaky').error).toBeUndefined();
    expect(output(result, 'flaky').attempt).toBe(2);
    const [first, second] = starts(c.events, 'flaky');
    expect(first).toMatchObject({ attempt: 1 });
    expect(second).toMatchObject({ attempt: 2 });
    expect(second!.agentId).not.toBe(first!.agentId);
    expect(report(result, 'flaky').agentId).toBe(second!.agentId);
    const retry = eventsOf(c.events, 'subtask-retry');
    expect(retry).toHaveLength(1);
    expect(retry[0]).toMatchObject({ subtaskId: 'flaky', attempt: 2 });
    expect(retry[0]!.reason).toContain('AGENT_CRASHED');
    // A failed attempt that is retried is not an end.
    expect(eventsOf(c.events, 'subtask-end').filter((e) => e.subtaskId === 'flaky')).toMatchObject([{ status: 'succeeded', attempt: 2 }]);
    expect(report(result, 'then').status).toBe('succeeded');
  });

  it('never retries a BUSINESS failure (a plugin throw)', async () => {
    const c = await coordinator();
    const result = await c.run(task('rc-business', [sub('wrong', [{ do: 'throw' }]), sub('fine', [{ do: 'busy', ms: 10 }])]), strategy('hybrid', { failureHandling: 'retry-cascade' }));
    expect(result.success).toBe(false);
    expect(report(result, 'wrong')).toMatchObject({ status: 'failed', attempts: 1, error: { category: 'BUSINESS' } });
    expect(starts(c.events, 'wrong')).toHaveLength(1);
    expect(eventsOf(c.events, 'subtask-retry')).toEqual([]);
    expect(report(result, 'fine').status).toBe('succeeded');
  });

  it('retries a subtask that timed out again after its extension, with exponential backoff', async () => {
    const c = await coordinator();
    const slow = sub('slow', [{ do: 'busy', ms: 5_000, attempt: 1 }, { do: 'busy', ms: 5_000, attempt: 2 }, { do: 'busy', ms: 10 }], {
      executionConstraints: { maxMemory: 128, maxDuration: 200 },
    });
    const result = await c.run(task('timeouts', [slow]), strategy('sequential', { failureHandling: 'retry-cascade' }));
    expect(result.success).toBe(true);
    expect(report(result, 'slow')).toMatchObject({ status: 'succeeded', attempts: 3 });
    const retries = eventsOf(c.events, 'subtask-retry');
    expect(retries.map((e) => e.attempt)).toEqual([2, 3]);
    expect(retries[0]!.reason).toBe('deadline extended');
    expect(retries[1]!.reason).toBe('TIME_LIMIT (exponential_backoff)');
    expect(result.aggregatedResult.fallbacks.map((f) => f.action)).toEqual(['extend-deadline']);
  });

  it('gives up after three attempts of a failure that keeps recurring, each on a fresh agent', async () => {
    const c = await coordinator();
    // Lanes [s] and [doomed, after-s]; `s` waits at a barrier until `doomed` is done for good.
    const t = task(
      'rc-give-up',
      [
        sub('s', [{ do: 'sync', point: 'gone' }], { estimatedDuration: 3000 }),
        sub('doomed', [{ do: 'exit', code: 4 }], { estimatedDuration: 100 }),
        sub('after-s', [{ do: 'busy', ms: 10 }], { estimatedDuration: 100 }),
      ],
      { 'after-s': ['s'] },
    );
    const s = strategy('hybrid', { failureHandling: 'retry-cascade', synchronizationPoints: [point('gone', 'barrier', { participatingAgents: ['s', 'doomed'] })] });
    const result = await c.run(t, s);
    expect(result.success).toBe(false);
    expect(report(result, 'doomed')).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'AGENT_CRASHED', category: 'SYSTEM' } });
    expect(new Set(starts(c.events, 'doomed').map((e) => e.agentId)).size).toBe(3);
    expect(eventsOf(c.events, 'subtask-retry').map((e) => e.attempt)).toEqual([2, 3]);
    // Retries are the failure strategy's, not a fallback action: no fallback is recorded.
    expect(result.aggregatedResult.fallbacks).toEqual([]);
    expect(output(result, 's').log).toEqual([{ sync: 'gone', value: { arrived: ['s'] } }]);
    expect(report(result, 'after-s').status).toBe('succeeded');
  });
});

describe('fallback actions', () => {
  it('extend-deadline: a subtask past its maxDuration on attempt 1 succeeds after one extension', async () => {
    const c = await coordinator();
    const slow = sub('slow', [{ do: 'busy', ms: 5_000, attempt: 1 }, { do: 'busy', ms: 10 }], { executionConstraints: { maxMemory: 128, maxDuration: 300 } });
    const result = await c.run(task('deadline', [slow]), strategy('sequential'));
    expect(result.success).toBe(true);
    expect(report(result, 'slow')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(result.aggregatedResult.fallbacks).toEqual([{ action: 'extend-deadline', detail: expect.objectContaining({ subtaskId: 'slow', factor: 1.5 }) }]);
    expect(eventsOf(c.events, 'fallback')).toMatchObject([{ action: 'extend-deadline' }]);
    const retry = eventsOf(c.events, 'subtask-retry');
    expect(retry).toMatchObject([{ subtaskId: 'slow', attempt: 2, reason: 'deadline extended' }]);
  });

  it('extend-deadline is used once: a subtask past its extended deadline too fails with TIME_LIMIT', async () => {
    const c = await coordinator();
    const stuck = sub('stuck', [{ do: 'busy', ms: 5_000 }], { executionConstraints: { maxMemory: 128, maxDuration: 200 } });
    const result = await c.run(task('deadline-twice', [stuck]), strategy('sequential'));
    expect(result.success).toBe(false);
    expect(report(result, 'stuck')).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'TIME_LIMIT', category: 'TIMEOUT' } });
    expect(report(result, 'stuck').error?.context['limitMs']).toBe(300);
    expect(result.aggregatedResult.fallbacks).toHaveLength(1);
  });

  it('an agent that dies while its lane has pending subtasks leaves them to another agent of the profile, with no fallback action', async () => {
    const c = await coordinator();
    // Lanes (hybrid, 2 agents): [s] and [a, after-s]; `s` holds at a barrier until `a` is gone.
    const t = task(
      'reassign',
      [
        sub('s', [{ do: 'sync', point: 'gone' }, { do: 'busy', ms: 10 }], { estimatedDuration: 3000 }),
        sub('a', [{ do: 'exit', code: 3 }], { estimatedDuration: 100 }),
        sub('after-s', [{ do: 'busy', ms: 10 }], { estimatedDuration: 100 }),
      ],
      { 'after-s': ['s'] },
    );
    const distribution = await c.plan(t, strategy('hybrid', { synchronizationPoints: [point('gone', 'barrier', { participatingAgents: ['s', 'a'] })] }));
    const laneOfA = distribution.agentAllocations.find((l) => l.assignedSubTasks.some((s) => s.id === 'a'));
    expect(laneOfA?.assignedSubTasks.map((s) => s.id)).toEqual(['a', 'after-s']);
    const result = await c.execute(distribution);
    expect(report(result, 'a')).toMatchObject({ status: 'failed', error: { code: 'AGENT_CRASHED', category: 'SYSTEM' } });
    expect(report(result, 'after-s').status).toBe('succeeded');
    expect(report(result, 'after-s').agentId).not.toBe(report(result, 'a').agentId);
    expect(distribution.fallbackPlan.actions.map((a) => a.action)).not.toContain('reassign-tasks');
    expect(eventsOf(c.events, 'fallback')).toEqual([]);
    expect(result.aggregatedResult.fallbacks).toEqual([]);
  });
});

describe('memory budget', () => {
  it('runs more agents than resources.maxTotalMemory holds in waves, never over the budget', async () => {
    const budget = 300;
    const c = await coordinator({ resources: { maxTotalMemory: budget } });
    // Two profiles (100 MB and 150 MB agents): at most 300 MB of agents may be alive at once.
    const subtasks = ['p1', 'p2', 'p3', 'q1', 'q2', 'q3'].map((id) =>
      sub(id, [{ do: 'sleep', ms: 100 }], { executionConstraints: { maxMemory: id.startsWith('p') ? 100 : 150 } }),
    );
    const distribution = await c.plan(task('budget', subtasks), strategy('hybrid', { maxConcurrentAgents: 4 }));
    const result = await c.execute(distribution);
    expect(result.success).toBe(true);
    // Each agent's memory limit, from the subtasks it ran.
    const limitOf = new Map<string, number>();
    for (const e of eventsOf(c.events, 'subtask-start')) limitOf.set(e.agentId, distribution.specifications[e.subtaskId]!.resourceLimits.maxMemoryMB);
    // Agents alive from their first event to their end status.
    const alive = new Map<string, number>();
    let peak = 0;
    for (const e of c.events) {
      if (e.type !== 'agent' || e.event.type !== 'status') continue;
      const id = e.event.agentId;
      if (['completed', 'failed', 'terminated'].includes(e.event.status)) alive.delete(id);
      else alive.set(id, limitOf.get(id) ?? 0);
      const held = [...alive.values()].reduce((s, mb) => s + mb, 0);
      peak = Math.max(peak, held);
    }
    expect(limitOf.size).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(budget);
    // Waves: never all six at once (three 100 MB agents at most).
    expect(maxOverlap(subtasks.map((s) => interval(result, s.id)))).toBeLessThanOrEqual(3);
    expect(ok(await c.coordinator.getActiveAgents())).toEqual([]);
  });
});

describe('agents', () => {
  it('keeps at most maxConcurrentAgents agents: sequential with two profiles retires one before starting the next', async () => {
    const c = await coordinator();
    const t = task('profiles', [sub('p1', [{ do: 'busy', ms: 10 }]), sub('q1', [{ do: 'busy', ms: 10 }], { executionConstraints: { maxMemory: 100 } }), sub('p2', [{ do: 'busy', ms: 10 }])], { q1: ['p1'], p2: ['q1'] });
    const result = await c.run(t, strategy('sequential', { maxConcurrentAgents: 1 }));
    expect(result.success).toBe(true);
    const agents = ['p1', 'q1', 'p2'].map((id) => report(result, id).agentId);
    expect(new Set(agents).size).toBe(3);
    let alive = 0;
    let most = 0;
    const seen = new Set<string>();
    for (const e of c.events) {
      if (e.type !== 'agent' || e.event.type !== 'status') continue;
      if (['completed', 'failed', 'terminated'].includes(e.event.status)) alive--;
      else if (!seen.has(e.event.agentId)) alive++;
      seen.add(e.event.agentId);
      most = Math.max(most, alive);
    }
    expect(most).toBe(1);
    const retired = eventsOf(c.events, 'agent').filter((e) => e.event.type === 'status' && e.event.status === 'completed' && e.event.reason === 'making room for another profile');
    expect(retired.map((e) => e.event.agentId)).toEqual([agents[0], agents[1]]);
  });
});

describe('inputs', () => {
  it('feeds upstream outputs to inputs: one producer gives its value, several give an array in declaration order', async () => {
    const c = await coordinator();
    const produce = (id: string, output: string) => sub(id, [{ do: 'busy', ms: 10 }], { expectedOutputs: [{ name: output }] });
    const consumer = sub('consumer', [{ do: 'inputs' }], {
      inputs: [{ name: 'steps', value: [{ do: 'inputs' }] }, { name: 'part' }, { name: 'solo' }, { name: 'limit', value: 3 }, { name: 'optional', required: false }],
    });
    const t = task('fan-in', [produce('p1', 'part'), produce('p2', 'part'), produce('only', 'solo'), consumer], {}, { inputs: { region: 'eu' } });
    const result = await c.run(t, strategy('hybrid', { maxConcurrentAgents: 3 }));
    expect(result.success).toBe(true);
    const seen = output(result, 'consumer').log[0]!['inputs'] as Record<string, unknown>;
    expect(seen['region']).toBe('eu');
    expect(seen['limit']).toBe(3);
    expect(seen).not.toHaveProperty('optional');
    expect((seen['part'] as { subtask: string }[]).map((p) => p.subtask)).toEqual(['p1', 'p2']);
    expect((seen['solo'] as { subtask: string }).subtask).toBe('only');
  });
});

describe('strategy plugins', () => {
  it('a scheduler that starts nothing while nothing runs ends the run instead of hanging it', async () => {
    const c = await coordinator({ plugins: [STEPS_PLUGIN, STALLING_STRATEGY] });
    const result = await c.run(task('stall', [sub('a', [{ do: 'busy', ms: 10 }]), sub('b', [{ do: 'busy', ms: 10 }])], { b: ['a'] }), strategy('stalling'));
    expect(result.success).toBe(false);
    expect(result.error).toMatchObject({ code: 'PLUGIN_INVALID', context: { strategy: 'stalling' } });
    expect(report(result, 'a')).toMatchObject({ status: 'skipped', attempts: 0, error: { code: 'PLUGIN_INVALID' } });
    expect(report(result, 'b')).toMatchObject({ status: 'skipped', attempts: 0, error: { code: 'SKIPPED' } });
    expect(eventsOf(c.events, 'subtask-start')).toEqual([]);
    // A scheduler without explain() is reported by the strategy's name.
    expect(eventsOf(c.events, 'concurrency')).toMatchObject([{ value: 1, reason: 'stalling' }]);
  });
});

describe('executeDistributedTask', () => {
  it('refuses what is not a distribution, an unknown strategy, a cyclic DAG and a distribution already executing', async () => {
    const c = await coordinator();
    const d = await c.plan(task('refusals', [sub('a', [{ do: 'sleep', ms: 300 }]), sub('b', [{ do: 'busy', ms: 10 }])]), strategy('hybrid'));
    expect(err(await c.coordinator.executeDistributedTask(null as unknown as TaskDistribution)).code).toBe('INVALID_SPEC');
    expect(err(await c.coordinator.executeDistributedTask({ distributionId: 'x' } as unknown as TaskDistribution)).code).toBe('INVALID_SPEC');
    const unknown = err(await c.coordinator.executeDistributedTask({ ...d, strategy: { ...d.strategy, type: 'vanished' } }));
    expect(unknown).toMatchObject({ code: 'PLUGIN_INVALID' });
    expect(unknown.message).toContain('vanished');
    const cycle = [
      { dependentTask: 'a', dependsOn: ['b'], type: 'sequential' as const },
      { dependentTask: 'b', dependsOn: ['a'], type: 'sequential' as const },
    ];
    const cyclic = err(await c.coordinator.executeDistributedTask({ ...d, originalTask: { ...d.originalTask, dependencies: cycle } }));
    expect(cyclic.code).toBe('INVALID_SPEC');
    expect(cyclic.message).toContain('cycle');
    expect(existsSync(path.join(c.root, 'runs', d.distributionId))).toBe(false);
    const first = c.coordinator.executeDistributedTask(d);
    expect(await waitUntil(() => eventsOf(c.events, 'subtask-start').length > 0, 10_000)).toBe(true);
    expect(err(await c.coordinator.executeDistributedTask(d)).message).toContain('already executing');
    expect(ok(await first).success).toBe(true);
    expect(existsSync(path.join(c.root, 'runs', d.distributionId))).toBe(false);
  });
});

describe('monitoring and events', () => {
  it('monitorExecution reports live progress during a run; events() streams every kind of event', async () => {
    const c = await coordinator();
    const t = task(
      'watched',
      [
        sub('half', [{ do: 'progress', fraction: 0.5, note: 'halfway' }, { do: 'send', to: 'other', body: 'hi' }, { do: 'sync', point: 'meet' }, { do: 'sleep', ms: 600 }]),
        sub('other', [{ do: 'receive' }, { do: 'sync', point: 'meet' }]),
      ],
    );
    const distribution = await c.plan(t, strategy('hybrid', { synchronizationPoints: [point('meet', 'barrier')] }));
    const id = distribution.distributionId;
    expect(err(await c.coordinator.monitorExecution(id)).code).toBe('NOT_FOUND');
    const running = c.execute(distribution);
    expect(await waitUntil(() => c.events.some((e) => e.type === 'agent' && e.event.type === 'progress' && e.event.fraction === 0.5), 10_000)).toBe(true);
    const status = ok(await c.coordinator.monitorExecution(id));
    expect(status).toMatchObject({ coordinationId: id, status: 'running', totalTasks: 2 });
    expect(status.progress).toBeGreaterThan(0);
    expect(status.progress).toBeLessThan(1);
    expect(status.activeAgents).toBeGreaterThanOrEqual(1);
    const result = await running;
    expect(result.success).toBe(true);
    expect(ok(await c.coordinator.monitorExecution(id))).toMatchObject({ status: 'completed', progress: 1, activeAgents: 0, completedTasks: 2, totalTasks: 2 });

    const mine = c.events.filter((e) => e.type === 'agent' || e.coordinationId === id);
    const kinds = new Set(mine.map((e) => (e.type === 'agent' ? `agent:${e.event.type}` : e.type)));
    for (const kind of ['run-start', 'subtask-start', 'subtask-end', 'run-end', 'concurrency', 'agent:status', 'agent:progress', 'agent:usage', 'sync', 'channel']) expect(kinds).toContain(kind);
    expect(mine[0]?.type).toBe('run-start');
    expect(eventsOf(mine, 'run-end')).toHaveLength(1);
    const progress = mine.find((e) => e.type === 'agent' && e.event.type === 'progress');
    expect(progress).toMatchObject({ coordinationId: id, event: { subtaskId: 'half', fraction: 0.5, note: 'halfway' } });
    expect(eventsOf(mine, 'channel')[0]).toMatchObject({ event: { type: 'message', kind: 'direct', from: 'half', to: 'other' } });
    expect(eventsOf(mine, 'sync').map((e) => e.event['type'])).toEqual(['sync-arrive', 'sync-arrive', 'sync-release', 'sync-release']);
    // Ordered in time.
    const at = c.events.map((e) => e.at);
    expect(at).toEqual([...at].sort((x, y) => x - y));
    expect(interval(result, 'half').end).toBeGreaterThanOrEqual(interval(result, 'other').end);
  });
});

describe('coordinateAgents', () => {
  function work(id: string, steps: readonly Record<string, unknown>[]): { subtask: SubTask; inputs: Record<string, unknown> } {
    const subtask: SubTask = {
      id,
      parentTaskId: 'spawned',
      description: '',
      agentRequirements: { capabilities: ['steps'], minimumVersion: '0.10.0', resourceNeeds: [], securityLevel: 'medium', concurrencySupport: true },
      inputs: [],
      expectedOutputs: [{ name: 'result', type: 'any', description: '' }],
      executionConstraints: {},
      successCriteria: [],
      estimatedDuration: 100,
    };
    return { subtask, inputs: { steps } };
  }

  it('synchronizes agents spawned with spawnSubAgent and reports what happened', async () => {
    const c = await coordinator();
    const parts = ok(await c.coordinator.init());
    const agents = [ok(await c.coordinator.spawnSubAgent(agentSpec())), ok(await c.coordinator.spawnSubAgent(agentSpec()))];
    const points = [point('together', 'barrier'), point('total', 'aggregation', { condition: { type: 'all-complete', parameters: { reducer: 'sum' } } })];
    const summary = c.coordinator.coordinateAgents(agents, points);
    const runs = agents.map((a, k) => {
      const { subtask, inputs } = work(`w${k}`, [{ do: 'sync', point: 'together' }, { do: 'sync', point: 'total', value: k + 1 }]);
      return parts.factory.get(a.id)!.execute(subtask, inputs);
    });
    const outcomes = (await Promise.all(runs)).map((r) => ok(r).outputs['result'] as { log: { value: unknown }[] });
    for (const o of outcomes) {
      expect(o.log[0]!.value).toEqual({ arrived: expect.arrayContaining(['w0', 'w1']) });
      expect(o.log[1]!.value).toBe(3);
    }
    const s = ok(await summary);
    expect(s).toMatchObject({ participatingAgents: 2, synchronizationPointsReached: 2, overallSuccess: true });
    expect(s.communicationEvents).toBeGreaterThanOrEqual(8);
    expect(eventsOf(c.events, 'sync').filter((e) => e.coordinationId === s.coordinationId).length).toBe(s.communicationEvents);
  });

  it('releases the others when an agent dies at the barrier', async () => {
    const c = await coordinator();
    const parts = ok(await c.coordinator.init());
    const agents = [ok(await c.coordinator.spawnSubAgent(agentSpec())), ok(await c.coordinator.spawnSubAgent(agentSpec()))];
    const summary = c.coordinator.coordinateAgents(agents, [point('meet', 'barrier')]);
    const stays = work('stays', [{ do: 'sync', point: 'meet' }]);
    const dies = work('dies', [{ do: 'exit', code: 3 }]);
    const survivor = parts.factory.get(agents[0]!.id)!.execute(stays.subtask, stays.inputs);
    const dying = parts.factory.get(agents[1]!.id)!.execute(dies.subtask, dies.inputs);
    expect(err(await dying).code).toBe('AGENT_CRASHED');
    const out = ok(await survivor).outputs['result'] as { log: { value: unknown }[] };
    expect(out.log[0]!.value).toEqual({ arrived: ['stays'] });
    expect(ok(await summary)).toMatchObject({ participatingAgents: 2, synchronizationPointsReached: 1, overallSuccess: true });
  });

  it('refuses invalid points and agents that are not active', async () => {
    const c = await coordinator();
    const agent = ok(await c.coordinator.spawnSubAgent(agentSpec()));
    expect(err(await c.coordinator.coordinateAgents([agent], [{ id: 'x', type: 'wormhole' } as unknown as SynchronizationPoint])).code).toBe('INVALID_SPEC');
    expect(err(await c.coordinator.coordinateAgents([agent], [point('d', 'decision', { condition: { type: 'all-complete', parameters: { rule: 'coin-flip' } } })])).code).toBe('INVALID_SPEC');
    await c.coordinator.terminateSubAgent(agent.id, 'gone');
    expect(err(await c.coordinator.coordinateAgents([agent], [point('b', 'barrier')])).code).toBe('NOT_FOUND');
  });
});
