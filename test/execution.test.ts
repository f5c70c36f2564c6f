/**
 * The execution engine on real SubAgent processes: failure handling (fail-fast,
 * graceful-degradation, retry-cascade), fallback actions (extend-deadline, reassign-tasks), the
 * memory budget, live monitoring, the event stream and coordinateAgents.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CoordinatorEvent } from '../src/index.js';
import type { SubAgentSpecificationInput } from '../src/schemas/spec.js';
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
    expect(report(result, 'long').status).toBe('cancelled');
    expect(report(result, 'after-long')).toMatchObject({ status: 'cancelled', attempts: 0, startedAt: null });
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

describe('graceful-degradation', () => {
  it("skips a failed subtask's dependents, finishes the independent branch and keeps its outputs", async () => {
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
      { b: ['a'], c: ['b'], y: ['x'] },
    );
    const result = await c.run(t, strategy('hybrid'));
    expect(result.success).toBe(false);
    expect(result.error).toMatchObject({ code: 'AGENT_ERROR' });
    expect(report(result, 'a')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'AGENT_ERROR', category: 'BUSINESS' } });
    for (const id of ['b', 'c']) {
      expect(report(result, id)).toMatchObject({ status: 'skipped', attempts: 0, startedAt: null, error: { code: 'CANCELLED' } });
    }
    expect(report(result, 'x').status).toBe('succeeded');
    expect(report(result, 'y').status).toBe('succeeded');
    expect(Object.keys(result.aggregatedResult.outputs).sort()).toEqual(['x', 'y']);
    expect(output(result, 'y').subtask).toBe('y');
    expect(eventsOf(c.events, 'run-end').at(-1)).toMatchObject({ success: false, status: 'failed' });
  });

  it('a subtask whose agent can never fit the memory budget fails with INSUFFICIENT_RESOURCES; the others still run', async () => {
    const c = await coordinator({ resources: { maxTotalMemory: 300 } });
    const t = task('too-big', [sub('huge', [{ do: 'busy', ms: 10 }], { executionConstraints: { maxMemory: 400 } }), sub('small', [{ do: 'busy', ms: 10 }])]);
    const result = await c.run(t, strategy('sequential'));
    expect(result.success).toBe(false);
    expect(report(result, 'huge')).toMatchObject({ status: 'failed', agentId: null, error: { code: 'INSUFFICIENT_RESOURCES', category: 'RESOURCE' } });
    expect(report(result, 'small').status).toBe('succeeded');
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

  it('gives up after three attempts of a failure that keeps recurring', async () => {
    const c = await coordinator();
    const result = await c.run(task('rc-give-up', [sub('doomed', [{ do: 'exit', code: 4 }]), sub('fine', [{ do: 'busy', ms: 10 }])]), strategy('hybrid', { failureHandling: 'retry-cascade' }));
    expect(result.success).toBe(false);
    expect(report(result, 'doomed')).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'AGENT_CRASHED', category: 'SYSTEM' } });
    expect(new Set(starts(c.events, 'doomed').map((e) => e.agentId)).size).toBe(3);
    expect(eventsOf(c.events, 'subtask-retry').map((e) => e.attempt)).toEqual([2, 3]);
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

  it('reassign-tasks: an agent that dies while its lane has pending subtasks has them reassigned', async () => {
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
    const fallback = eventsOf(c.events, 'fallback');
    expect(fallback).toHaveLength(1);
    expect(fallback[0]).toMatchObject({ action: 'reassign-tasks', detail: { fromAgent: report(result, 'a').agentId, lane: laneOfA!.agentId, subtasks: ['after-s'] } });
    expect(result.aggregatedResult.fallbacks.map((f) => f.action)).toEqual(['reassign-tasks']);
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
    expect(err(await c.coordinator.coordinateAgents([agent], [{ id: 'x', type: 'wormhole' } as never])).code).toBe('INVALID_SPEC');
    expect(err(await c.coordinator.coordinateAgents([agent], [point('d', 'decision', { condition: { type: 'all-complete', parameters: { rule: 'coin-flip' } } })])).code).toBe('INVALID_SPEC');
    await c.coordinator.terminateSubAgent(agent.id, 'gone');
    expect(err(await c.coordinator.coordinateAgents([agent], [point('b', 'barrier')])).code).toBe('NOT_FOUND');
  });
});
