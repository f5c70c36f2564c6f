/**
 * A run's scheduling and its reading of the plan, with no processes: what starts next and at what
 * concurrency (announced once per change, with what caps it), ready subtasks released by the
 * events the run applies, and the lane's planned allocation as the memory an agent asks for.
 */
import { describe, expect, it } from 'vitest';
import adaptive from '../../plugins/strategies/adaptive.js';
import hybrid from '../../plugins/strategies/hybrid.js';
import parallel from '../../plugins/strategies/parallel.js';
import sequential from '../../plugins/strategies/sequential.js';
import { resolveConfig } from '../../src/config/load.js';
import { TaskDistributionEngine } from '../../src/distribution/engine.js';
import type { TaskDistribution } from '../../src/distribution/types.js';
import type { CoordinatorEvent } from '../../src/events/types.js';
import { applyEvent, initialRunState } from '../../src/execution/reducer.js';
import type { RunEvent } from '../../src/execution/run-events.js';
import { RunPlan } from '../../src/execution/run-plan.js';
import { RunScheduling } from '../../src/execution/run-scheduling.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { PluginRegistry } from '../../src/plugins/registry.js';
import type { ResourceManager } from '../../src/resources/index.js';
import type { SubTaskInput } from '../../src/schemas/task.js';
import { ok } from '../helpers.js';

const config = ok(resolveConfig({ logging: { level: 'silent' } }, { filepath: null, dir: process.cwd() }));

function registry(): PluginRegistry {
  const r = new PluginRegistry();
  ok(r.add({ kind: 'agent', name: 'counter', type: 'specialized', capabilities: ['count-lines'], path: '/plugins/counter.js', origin: 'test' }));
  for (const s of [sequential, parallel, hybrid, adaptive]) ok(r.add({ kind: 'strategy', name: s.name, plugin: s, path: `/strategies/${s.name}.js`, origin: 'builtin' }));
  return r;
}

const count = (id: string, estimatedDuration: number, extra: Partial<SubTaskInput> = {}): SubTaskInput => ({ id, agentRequirements: { capabilities: ['count-lines'] }, estimatedDuration, ...extra });

function distribute(subtasks: SubTaskInput[], dependencies: { dependentTask: string; dependsOn: string[] }[] = []): TaskDistribution {
  const engine = new TaskDistributionEngine({ config, registry: registry(), logger: createRootLogger({ level: 'silent' }), coordinatorId: 'c' });
  return ok(engine.distributeTask({ id: 't', subtasks, dependencies }, { type: 'hybrid', maxConcurrentAgents: 2, failureHandling: 'graceful-degradation' }));
}

function scheduling(d: TaskDistribution, budget = { maxTotalMemory: 100_000, maxConcurrentAllocations: 16 }) {
  const plan = new RunPlan(d);
  const state = initialRunState(plan.subtasks.map((s) => s.id));
  const events: CoordinatorEvent[] = [];
  const load = { running: 0, ahead: 0, saturated: false };
  const resources = { usage: () => ({ budget }) } as unknown as ResourceManager;
  const hybridEntry = { kind: 'strategy' as const, name: 'hybrid', plugin: hybrid, path: '/h.js', origin: 'builtin' as const };
  const s = new RunScheduling(plan, { strategy: hybridEntry, config, resources, emit: (e) => events.push(e), logger: createRootLogger({ level: 'silent' }) }, () => ({ running: load.running, ahead: () => ({ room: load.ahead, saturated: load.saturated }), takesAhead: () => load.ahead > 0, agents: [], counts: state.counts }));
  const apply = (e: RunEvent): void => {
    applyEvent(state, e);
    s.observe(e, state);
  };
  return { plan, state, events, load, s, apply };
}

describe('RunScheduling', () => {
  it('starts the critical path first, up to the cap, and announces the concurrency once', () => {
    const { plan, s, events, load } = scheduling(distribute([count('short', 100), count('long', 5000), count('mid', 1000)]));
    for (const i of s.dag.roots()) s.ready.add(i);
    const started: string[] = [];
    // The loop's running count follows each start (as the run's does when it dispatches).
    const start = (i: number): void => {
      started.push(plan.idOf(i));
      load.running++;
    };
    s.startReady(false, start);
    expect(started).toEqual([]);
    s.startReady(true, start);
    expect(started).toEqual(['long', 'mid']);
    expect([...s.ready].map((i) => plan.idOf(i))).toEqual(['short']);
    s.startReady(true, start);
    expect(started).toEqual(['long', 'mid']);
    load.running = 1;
    s.startReady(true, start);
    expect(started).toEqual(['long', 'mid', 'short']);
    expect(events.filter((e) => e.type === 'concurrency')).toMatchObject([{ value: 2, requested: 2 }]);
  });

  it('a budget that holds fewer agents caps the concurrency and says so', () => {
    const { s, events } = scheduling(distribute([count('a', 100), count('b', 100)]), { maxTotalMemory: 100_000, maxConcurrentAllocations: 1 });
    for (const i of s.dag.roots()) s.ready.add(i);
    const started: number[] = [];
    s.startReady(true, (i) => started.push(i));
    expect(started).toHaveLength(1);
    expect(events).toMatchObject([{ type: 'concurrency', value: 1, limitedBy: 'resources.maxConcurrentAllocations', requested: 2 }]);
  });

  it('beyond the concurrency, starts as many as the agents can take ahead, and no more', () => {
    const { s, load } = scheduling(distribute(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => count(id, 1000))));
    for (const i of s.dag.roots()) s.ready.add(i);
    const started: number[] = [];
    const start = (i: number): void => void started.push(i);
    load.running = 2;
    s.startReady(true, start);
    expect(started).toHaveLength(0);
    load.ahead = 3;
    s.startReady(true, start);
    expect(started).toHaveLength(3);
    expect(s.ready.size).toBe(3);
  });

  it('when the busy agents covering the cores all take work ahead, new work goes only to their queues, even under the concurrency', () => {
    const { s, load } = scheduling(distribute(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => count(id, 1000))));
    for (const i of s.dag.roots()) s.ready.add(i);
    const started: number[] = [];
    load.running = 1;
    load.saturated = true;
    load.ahead = 2;
    s.startReady(true, (i) => void started.push(i));
    expect(started).toHaveLength(2);
    load.saturated = false;
    load.ahead = 0;
    s.startReady(true, (i) => void started.push(i));
    // Not saturated: the concurrency's free slot is used again.
    expect(started).toHaveLength(3);
  });

  it('a success releases the dependents whose inputs all exist; a failure removes its subtask from the ready queue', () => {
    const { plan, s, apply } = scheduling(distribute([count('a', 100), count('b', 100), count('c', 100)], [{ dependentTask: 'c', dependsOn: ['a', 'b'] }]));
    const [a, b, c] = ['a', 'b', 'c'].map((id) => plan.indexOf(id));
    for (const i of s.dag.roots()) s.ready.add(i);
    expect([...s.ready].sort()).toEqual([a, b].sort());
    apply({ type: 'subtask-dispatched', index: a!, subtaskId: 'a', attempt: 1, at: 0 });
    s.ready.delete(a!);
    apply({ type: 'subtask-succeeded', index: a!, subtaskId: 'a', attempt: 1, outputs: {}, at: 1 });
    expect(s.ready.has(c!)).toBe(false);
    apply({ type: 'subtask-dispatched', index: b!, subtaskId: 'b', attempt: 1, at: 0 });
    s.ready.delete(b!);
    apply({ type: 'subtask-succeeded', index: b!, subtaskId: 'b', attempt: 1, outputs: {}, at: 1 });
    expect([...s.ready]).toEqual([c]);
    expect(s.dag.lowestOpenLevel).toBe(1);
    apply({ type: 'subtask-skipped', index: c!, subtaskId: 'c', error: { code: 'SKIPPED' } as never, at: 2 });
    expect(s.ready.size).toBe(0);
    expect(s.observe({ type: 'run-started', at: 0 }, initialRunState([]))).toBe(false);
  });
});

describe('RunPlan', () => {
  it("asks the budget for the lane's planned memory allocation: an edited plan is what runs", () => {
    const d = distribute([count('a', 100, { executionConstraints: { maxMemory: 128 } })]);
    expect(new RunPlan(d).leaseRequest(0, 'run', false)).toMatchObject({ memoryMB: 128, lane: 0, fresh: false, label: 'run:a' });
    const lane = d.agentAllocations[0]!;
    const edited: TaskDistribution = { ...d, agentAllocations: [{ ...lane, resourceAllocation: { ...lane.resourceAllocation, allocatedResources: [{ type: 'memory', amount: 300, unit: 'MB', location: 'local' }] } }] };
    expect(new RunPlan(edited).leaseRequest(0, 'run', true)).toMatchObject({ memoryMB: 300, fresh: true });
  });
});
