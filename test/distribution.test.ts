/**
 * The distribution engine as pure planning (no processes): the spec's analysis rules, plugin
 * matching, lane checks, the channel / synchronization / fallback plans and SubAgent
 * specifications.
 */
import type { QiError, Result } from '@qi/base';
import { describe, expect, it } from 'vitest';
import adaptive from '../plugins/strategies/adaptive.js';
import hybrid from '../plugins/strategies/hybrid.js';
import parallel from '../plugins/strategies/parallel.js';
import sequential from '../plugins/strategies/sequential.js';
import type { Lanes, StrategyPlugin } from '../src/plugin/strategy-types.js';
import { resolveConfig } from '../src/config/load.js';
import type { ConfigInput } from '../src/config/schema.js';
import { buildTaskGraph } from '../src/dag/graph.js';
import { analyzeDistribution, COST_MODEL } from '../src/distribution/analysis.js';
import { TaskDistributionEngine } from '../src/distribution/engine.js';
import { planChannels, planFallback, planSynchronization } from '../src/distribution/plans.js';
import { profileKey, specificationFor } from '../src/distribution/specs.js';
import type { AgentAllocation, TaskDistribution } from '../src/distribution/types.js';
import { createRootLogger } from '../src/logging/logger.js';
import { PluginRegistry, type AgentPluginEntry } from '../src/plugins/registry.js';
import { CoordinationStrategy, type CoordinationStrategyInput } from '../src/schemas/strategy.js';
import { DistributedTask, type DistributedTaskInput, type SubTaskInput } from '../src/schemas/task.js';
import { err, issueLines, ok } from './helpers.js';

const AGENTS: readonly AgentPluginEntry[] = [
  { kind: 'agent', name: 'basic', type: 'basic', capabilities: ['basic-operations', 'preparation', 'execution', 'monitoring'], path: '/plugins/basic.js', origin: 'builtin' },
  { kind: 'agent', name: 'decider', type: 'decision-capable', capabilities: ['basic-operations', 'analysis', 'planning', 'decision-making'], path: '/plugins/decider.js', origin: 'builtin' },
  { kind: 'agent', name: 'counter', type: 'specialized', capabilities: ['count-lines'], path: '/plugins/counter.js', origin: 'test' },
];

function registry(extra: readonly StrategyPlugin[] = []): PluginRegistry {
  const r = new PluginRegistry();
  for (const a of AGENTS) ok(r.add(a));
  for (const s of [sequential, parallel, hybrid, adaptive, ...extra]) ok(r.add({ kind: 'strategy', name: s.name, plugin: s, path: `/strategies/${s.name}.js`, origin: 'builtin' }));
  return r;
}

function config(input: ConfigInput = {}) {
  return ok(resolveConfig({ logging: { level: 'silent' }, ...input }, { filepath: null, dir: process.cwd() }));
}

function engine(extra: readonly StrategyPlugin[] = [], configInput: ConfigInput = {}): TaskDistributionEngine {
  return new TaskDistributionEngine({ config: config(configInput), registry: registry(extra), logger: createRootLogger({ level: 'silent' }), coordinatorId: 'coord-1' });
}

function strategy(type: string, extra: Partial<CoordinationStrategyInput> = {}): CoordinationStrategyInput {
  return { type, maxConcurrentAgents: 2, failureHandling: 'graceful-degradation', ...extra };
}

/** A subtask for the `counter` plugin. */
function count(id: string, extra: Partial<SubTaskInput> = {}): SubTaskInput {
  return { id, agentRequirements: { capabilities: ['count-lines'] }, estimatedDuration: 1000, ...extra };
}

function plan(t: DistributedTaskInput, s: CoordinationStrategyInput, e = engine()): Result<TaskDistribution, QiError> {
  return e.distributeTask(t, s);
}

describe('analysis (the spec rules)', () => {
  it('a task that is not decomposable is NOT_DISTRIBUTABLE, saying why', () => {
    const e = err(plan({ id: 't', decomposable: false, subtasks: [count('a'), count('b')] }, strategy('hybrid')));
    expect(e).toMatchObject({ code: 'NOT_DISTRIBUTABLE', category: 'BUSINESS' });
    expect(e.message).toContain('not decomposable');
    expect(e.context['analysis']).toMatchObject({ suitable: false });
  });

  it('a simple task that is not parallelizable suits only the sequential strategy', () => {
    const simple: DistributedTaskInput = { id: 'simple', complexity: 'simple', parallelizable: false };
    const e = err(plan(simple, strategy('parallel')));
    expect(e.code).toBe('NOT_DISTRIBUTABLE');
    expect(e.message).toContain('use sequential');
    const d = ok(plan(simple, strategy('sequential')));
    expect(d.subtasks.map((s) => s.id)).toEqual(['simple-single']);
    expect(d.analysis).toMatchObject({ suitable: true, recommendedAgents: 1 });
  });

  it('a task whose coordination would cost more than its work is NOT_DISTRIBUTABLE, with the figures', () => {
    const e = err(plan({ id: 'tiny', subtasks: [count('a', { estimatedDuration: 10 }), count('b', { estimatedDuration: 10 })] }, strategy('hybrid')));
    expect(e.code).toBe('NOT_DISTRIBUTABLE');
    expect(e.message).toContain(`about ${2 * COST_MODEL.agentStartMs + 2 * COST_MODEL.dispatchMs} ms of coordination for 20 ms of estimated work`);
  });

  it('recommends the DAG average parallelism, capped, and estimates the benefit from the critical path', () => {
    const t = DistributedTask.parse({
      id: 't',
      subtasks: [count('a', { estimatedDuration: 4000 }), count('b', { estimatedDuration: 4000 }), count('c', { estimatedDuration: 4000 }), count('d', { estimatedDuration: 4000 })],
      dependencies: [{ dependentTask: 'd', dependsOn: ['a'] }],
    });
    const graph = ok(buildTaskGraph(t.subtasks!, t.dependencies));
    const capped = analyzeDistribution(t, t.subtasks!, graph, CoordinationStrategy.parse(strategy('hybrid', { maxConcurrentAgents: 8 })));
    // 16 s of work, an 8 s critical path (a → d): two agents keep busy.
    expect(capped).toMatchObject({ suitable: true, totalWorkMs: 16_000, criticalPathMs: 8000, criticalPath: ['a', 'd'], recommendedAgents: 2 });
    expect(capped.overheadMs).toBe(2 * COST_MODEL.agentStartMs + 4 * COST_MODEL.dispatchMs);
    expect(capped.estimatedBenefit).toBeCloseTo(1 - (8000 + capped.overheadMs) / 16_000);
    expect(capped.parallelizationOpportunities).toEqual(['independent-task-parallelization']);
    const one = analyzeDistribution(t, t.subtasks!, graph, CoordinationStrategy.parse(strategy('sequential', { maxConcurrentAgents: 8 })));
    expect(one.recommendedAgents).toBe(1);
  });

  it('sees resource sharing between subtasks with shared needs; a chain offers no independent work', () => {
    const shared = { resourceNeeds: [{ resource: 'cache', amount: 1, unit: 'GB', shared: true }], capabilities: ['count-lines'] };
    const t = DistributedTask.parse({ id: 't', subtasks: [count('a', { agentRequirements: shared }), count('b', { agentRequirements: shared })], dependencies: [{ dependentTask: 'b', dependsOn: ['a'] }] });
    const graph = ok(buildTaskGraph(t.subtasks!, t.dependencies));
    const analysis = analyzeDistribution(t, t.subtasks!, graph, CoordinationStrategy.parse(strategy('hybrid')));
    expect(analysis.parallelizationOpportunities).toEqual(['resource-sharing-parallelization']);
  });

  it('subtasks estimated at 0 ms: one agent, no benefit, not worth distributing', () => {
    const t = DistributedTask.parse({ id: 't', subtasks: [count('a', { estimatedDuration: 0 }), count('b', { estimatedDuration: 0 })] });
    const graph = ok(buildTaskGraph(t.subtasks!, t.dependencies));
    const analysis = analyzeDistribution(t, t.subtasks!, graph, CoordinationStrategy.parse(strategy('hybrid')));
    expect(analysis).toMatchObject({ suitable: false, recommendedAgents: 1, estimatedBenefit: 0, totalWorkMs: 0 });
  });
});

describe('TaskDistributionEngine: refusals', () => {
  it('names every subtask that no plugin covers, with the capabilities or the plugin it needs', () => {
    const e = err(plan({ id: 't', subtasks: [count('ok'), count('needs', { agentRequirements: { capabilities: ['telepathy', 'count-lines'] } }), count('named', { agent: 'ghost' })] }, strategy('hybrid')));
    expect(e).toMatchObject({ code: 'INVALID_TASK', category: 'VALIDATION' });
    const lines = issueLines(e);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^task\.subtasks\[1\]: subtask 'needs' needs capabilities \["telepathy","count-lines"\]/);
    expect(lines[1]).toMatch(/^task\.subtasks\[2\]: subtask 'named' needs agent plugin 'ghost'/);
    expect(lines[1]).toContain('basic, decider, counter');
  });

  it('refuses an invalid task and an invalid strategy, naming the paths', () => {
    const badTask = err(plan({ id: 't', subtasks: [count('a', { estimatedDuration: -1 })] }, strategy('hybrid')));
    expect(badTask.code).toBe('INVALID_TASK');
    expect(issueLines(badTask).join('\n')).toContain('task.subtasks[0].estimatedDuration');
    const badStrategy = err(plan({ id: 't', subtasks: [count('a')] }, strategy('hybrid', { maxConcurrentAgents: 0 })));
    expect(badStrategy.code).toBe('INVALID_SPEC');
    expect(issueLines(badStrategy).join('\n')).toContain('strategy.maxConcurrentAgents');
  });

  it('refuses a strategy no plugin provides, naming the registered ones', () => {
    const e = err(plan({ id: 't', subtasks: [count('a'), count('b')] }, strategy('round-robin')));
    expect(e.code).toBe('INVALID_SPEC');
    expect(e.message).toContain("unknown strategy 'round-robin'");
    expect(e.message).toContain('sequential, parallel, hybrid, adaptive');
  });

  it('refuses lanes from a strategy plugin that miss, repeat or invent subtasks, or are empty', () => {
    const planning = (name: string, lanes: (n: number) => Lanes): StrategyPlugin => ({ name, kind: 'strategy', plan: (input) => lanes(input.subtasks.length), createScheduler: hybrid.createScheduler });
    const broken = [
      planning('misses', () => [[0]]),
      planning('repeats', (n) => [Array.from({ length: n }, (_, i) => i), [0]]),
      planning('invents', (n) => [[...Array.from({ length: n }, (_, i) => i), n]]),
      planning('fractions', (n) => [[...Array.from({ length: n }, (_, i) => i), 0.5]]),
      planning('empty', (n) => [Array.from({ length: n }, (_, i) => i), []]),
    ];
    const e = engine(broken);
    for (const s of broken) {
      const refused = err(plan({ id: 't', subtasks: [count('a'), count('b')] }, strategy(s.name), e));
      expect(refused, s.name).toMatchObject({ code: 'PLUGIN_INVALID', context: { strategy: s.name } });
    }
    expect(ok(plan({ id: 't', subtasks: [count('a'), count('b')] }, strategy('hybrid'), e)).agentAllocations.length).toBeGreaterThan(0);
  });

  it('refuses synchronization points that name neither a subtask nor *', () => {
    const points = [{ id: 'p', type: 'barrier' as const, participatingAgents: ['a', 'nobody'] }];
    const e = err(plan({ id: 't', subtasks: [count('a'), count('b')] }, strategy('hybrid', { synchronizationPoints: points })));
    expect(e.code).toBe('INVALID_TASK');
    expect(issueLines(e)).toEqual(["strategy.synchronizationPoints[0].participatingAgents: 'nobody' is neither '*' nor a subtask id of this task"]);
  });
});

describe('TaskDistributionEngine: plans', () => {
  it('decomposes a complex task into its phases, with data edges, on the plugins that cover them', () => {
    const d = ok(engine().distributeTask({ id: 'audit', complexity: 'complex', description: 'the repo' }, strategy('sequential'), { agentId: 'caller' }));
    expect(d.subtasks.map((s) => s.id)).toEqual(['audit-analysis', 'audit-planning', 'audit-execution']);
    expect(d.subtasks.every((s) => s.parentTaskId === 'audit' && !s.agentRequirements.concurrencySupport)).toBe(true);
    expect(d.subtasks[0]!.description).toBe('Analysis phase for the repo');
    expect(d.specifications['audit-analysis']).toMatchObject({ agentType: 'decision-capable', plugin: 'decider', parentAgentId: 'caller' });
    expect(d.specifications['audit-execution']).toMatchObject({ agentType: 'basic', plugin: 'basic' });
    // Sequential: one lane per run of equal profiles, in topological order.
    expect(d.agentAllocations.map((a) => a.assignedSubTasks.map((s) => s.id))).toEqual([['audit-analysis'], ['audit-planning'], ['audit-execution']]);
    expect(d.agentAllocations.map((a) => a.priority)).toEqual([1, 2, 3]);
    expect(d.agentAllocations[2]!.dependencies).toEqual(['lane-1', 'lane-2']);
    const parallelPhases = ok(engine().distributeTask({ id: 'audit', complexity: 'complex' }, strategy('parallel')));
    expect(parallelPhases.subtasks.every((s) => s.agentRequirements.concurrencySupport)).toBe(true);
    expect(parallelPhases.specifications['audit-analysis']!.parentAgentId).toBe('coord-1');
  });

  it('lays out lanes with their SubAgent specification, plugin, planned budget and expiry', () => {
    const before = Date.now();
    const d = ok(plan({ id: 't', timeLimit: 60_000, subtasks: [count('a', { executionConstraints: { maxMemory: 96 } }), count('b', { executionConstraints: { maxMemory: 96 } }), count('c', { executionConstraints: { maxMemory: 96 } })], dependencies: [{ dependentTask: 'c', dependsOn: ['a', 'b'] }] }, strategy('hybrid')));
    expect(d.agentAllocations).toHaveLength(2);
    for (const lane of d.agentAllocations) {
      expect(lane).toMatchObject({ plugin: 'counter', specification: { agentType: 'specialized', resourceLimits: { maxMemoryMB: 96 } } });
      expect(lane.resourceAllocation).toMatchObject({ allocationId: `planned:${lane.agentId}`, agentId: lane.agentId, allocatedResources: [{ type: 'memory', amount: 96, unit: 'MB', location: 'local' }] });
      expect(lane.resourceAllocation.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 60_000);
    }
    expect(d.agentAllocations.flatMap((a) => a.assignedSubTasks.map((s) => s.id)).sort()).toEqual(['a', 'b', 'c']);
    expect(d.fallbackPlan.recoveryStrategy).toBe('graceful-degradation');
    expect(d.synchronizationPlan).toEqual({ points: [] });
  });
});

describe('planChannels', () => {
  const lane = (agentId: string, dependencies: string[]): AgentAllocation => ({ agentId, dependencies, assignedSubTasks: [], priority: 1, plugin: 'p', specification: {} as AgentAllocation['specification'], resourceAllocation: {} as AgentAllocation['resourceAllocation'] });
  // l1 → l3, l2 → l3, l1 → l4
  const lanes = [lane('l1', []), lane('l2', []), lane('l3', ['l1', 'l2']), lane('l4', ['l1'])];
  const s = (communicationProtocol: CoordinationStrategyInput['communicationProtocol']) => CoordinationStrategy.parse(strategy('hybrid', { communicationProtocol }));

  it('direct: one channel per producer → consumer lane pair', () => {
    expect(planChannels(lanes, s('direct'))).toEqual([
      { id: 'direct:l1->l3', type: 'direct', participants: ['l1', 'l3'], protocol: 'direct' },
      { id: 'direct:l2->l3', type: 'direct', participants: ['l2', 'l3'], protocol: 'direct' },
      { id: 'direct:l1->l4', type: 'direct', participants: ['l1', 'l4'], protocol: 'direct' },
    ]);
  });

  it('message-queue: one queue per consuming lane, fed by its producers', () => {
    expect(planChannels(lanes, s('message-queue'))).toEqual([
      { id: 'queue:l3', type: 'queue', participants: ['l1', 'l2', 'l3'], protocol: 'message-queue' },
      { id: 'queue:l4', type: 'queue', participants: ['l1', 'l4'], protocol: 'message-queue' },
    ]);
  });

  it('event-driven: a run-wide broadcast, and one per producing lane to its consumers', () => {
    expect(planChannels(lanes, s('event-driven'))).toEqual([
      { id: 'topic:run', type: 'broadcast', participants: ['l1', 'l2', 'l3', 'l4'], protocol: 'event-driven' },
      { id: 'topic:outputs/l1', type: 'broadcast', participants: ['l1', 'l3', 'l4'], protocol: 'event-driven' },
      { id: 'topic:outputs/l2', type: 'broadcast', participants: ['l2', 'l3'], protocol: 'event-driven' },
    ]);
  });
});

describe('planSynchronization and planFallback', () => {
  const point = { id: 'p', type: 'barrier' as const };

  it('carries the strategy points, nothing restated from failureHandling', () => {
    const points = [{ ...point, timeoutMs: 10, onTimeout: 'fail' as const }];
    const plan = ok(planSynchronization(CoordinationStrategy.parse(strategy('hybrid', { failureHandling: 'fail-fast', synchronizationPoints: points })), ['a']));
    expect(Object.keys(plan)).toEqual(['points']);
    expect(plan.points.map((p) => p.id)).toEqual(['p']);
  });

  it('plans the fallback actions of each failure handling', () => {
    const fallback = (failureHandling: CoordinationStrategyInput['failureHandling']) => planFallback(CoordinationStrategy.parse(strategy('hybrid', { failureHandling })));
    expect(fallback('fail-fast')).toEqual({ triggers: ['agent-failure', 'timeout', 'resource-exhaustion'], actions: [], recoveryStrategy: 'fail-fast' });
    expect(fallback('graceful-degradation').actions.map((a) => a.action)).toEqual(['extend-deadline']);
    const retry = fallback('retry-cascade');
    expect(retry.actions.map((a) => a.action)).toEqual(['extend-deadline', 'retry-on-fresh-agent']);
    expect(retry.actions[0]!.parameters).toEqual({ maxExtensions: 1, extensionFactor: 1.5 });
    expect(retry.actions[1]!.parameters).toEqual({ maxAttempts: 3, baseDelayMs: 100 });
  });
});

describe('specificationFor', () => {
  const counter = AGENTS[2]!;

  it('takes the config defaults, narrowed by the subtask constraints', () => {
    const c = config({ defaults: { resourceLimits: { maxMemoryMB: 300 }, securityConstraints: { networkAccessLevel: 'restricted', allowedTools: ['read', 'fetch'] } } });
    const [plain, narrowed, offline] = DistributedTask.parse({
      id: 't',
      subtasks: [count('plain'), count('narrowed', { executionConstraints: { maxMemory: 64, allowedTools: ['read'], requiresNetwork: true } }), count('offline', { executionConstraints: { requiresNetwork: false } })],
    }).subtasks!;
    const spec = specificationFor(plain!, counter, c, 'parent');
    expect(spec).toMatchObject({ agentType: 'specialized', capabilities: ['count-lines'], plugin: 'counter', parentAgentId: 'parent', isolationLevel: 'restricted' });
    expect(spec.resourceLimits.maxMemoryMB).toBe(300);
    expect(spec.securityConstraints).toMatchObject({ allowedTools: ['read', 'fetch'], networkAccessLevel: 'restricted' });
    const narrow = specificationFor(narrowed!, counter, c, 'parent');
    expect(narrow.resourceLimits.maxMemoryMB).toBe(64);
    // requiresNetwork: true keeps what the configuration allows; it never widens it.
    expect(narrow.securityConstraints).toMatchObject({ allowedTools: ['read'], networkAccessLevel: 'restricted' });
    expect(specificationFor(offline!, counter, c, 'parent').securityConstraints.networkAccessLevel).toBe('none');
  });

  it('profileKey ignores who the parent is, and tells different limits apart', () => {
    const c = config();
    const [a, b] = DistributedTask.parse({ id: 't', subtasks: [count('a'), count('b', { executionConstraints: { maxMemory: 32 } })] }).subtasks!;
    expect(profileKey(specificationFor(a!, counter, c, 'one'))).toBe(profileKey(specificationFor(a!, counter, c, 'two')));
    expect(profileKey(specificationFor(a!, counter, c, 'one'))).not.toBe(profileKey(specificationFor(b!, counter, c, 'one')));
  });
});
