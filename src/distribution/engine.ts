import { randomUUID } from 'node:crypto';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AgentContext } from '../context.js';
import type { TaskGraph } from '../dag/graph.js';
import { buildTaskGraph } from '../dag/graph.js';
import { qiError } from '../errors/catalogue.js';
import { componentLogger, logPerformance } from '../logging/logger.js';
import type { Lanes, PlanInput } from '../plugin/strategy-types.js';
import type { AgentPluginEntry, PluginRegistry } from '../plugins/registry.js';
import { parseInput, suggest } from '../schemas/issues.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { CoordinationStrategy } from '../schemas/strategy.js';
import { CoordinationStrategy as StrategySchema } from '../schemas/strategy.js';
import type { DistributedTask, SubTask } from '../schemas/task.js';
import { parseTask, type ValidatedTask } from '../tasks/load.js';
import { flatString } from '../util/flat-string.js';
import { attachGraph } from './planned-graph.js';
import { analyzeDistribution } from './analysis.js';
import { decompose } from './decompose.js';
import { planChannels, planFallback, planSynchronization } from './plans.js';
import { specificationsFor } from './specs.js';
import type { AgentAllocation, ResourceAllocation, TaskDistribution } from './types.js';

/** The plan's default lifetime of a resource allocation when the task has no time limit. */
const DEFAULT_ALLOCATION_TTL_MS = 60 * 60 * 1000;

export interface DistributionDeps {
  readonly config: Config;
  readonly registry: PluginRegistry;
  readonly logger: Logger;
  readonly coordinatorId: string;
}

/** Subtasks' plugins, or every subtask whose requirements no plugin covers. */
function matchPlugins(subtasks: readonly SubTask[], registry: PluginRegistry): Result<AgentPluginEntry[], QiError> {
  const problems: { path: string; message: string }[] = [];
  const entries = subtasks.map((s, i) => {
    const entry = registry.agentFor(s.agent, s.agentRequirements.capabilities);
    if (entry === undefined) {
      const wanted = s.agent !== undefined ? `agent plugin '${s.agent}'` : `capabilities ${JSON.stringify(s.agentRequirements.capabilities)}`;
      problems.push({ path: `task.subtasks[${i}]`, message: `subtask '${s.id}' needs ${wanted}, which no registered agent plugin provides (${registry.listAgents().map((a) => a.name).join(', ')})` });
    }
    return entry;
  });
  if (problems.length === 0) return success(entries as AgentPluginEntry[]);
  const cause = registry.blockingProblem();
  if (cause !== undefined) {
    // A plugin that failed to load is the real reason a subtask has none: report that, not its absence.
    const { error } = cause;
    return failure({ ...error, context: { ...error.context, plugin: cause.path, origin: cause.origin, subtasksWithoutPlugin: problems } });
  }
  const known = registry.listAgents().map((a) => a.name);
  return failure(
    qiError(
      'INVALID_TASK',
      `no agent plugin for ${problems.length} subtask(s):\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}\n` +
        `Fix: name one of the registered agents (${known.join(', ')}) or list the plugin that provides it under \`plugins\` in .qicoordrc (\`qicoord plugins\` shows what is registered)`,
      { issues: problems, registered: known },
    ),
  );
}

/**
 * A partial strategy (an embedding host's `{ type, maxConcurrentAgents }`) completed from the
 * config's `defaults.strategy`, exactly as a task file's is; anything else is left to the schema.
 */
function withStrategyDefaults(input: unknown, config: Config): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const d = config.defaults.strategy;
  return { type: d.type, maxConcurrentAgents: d.maxConcurrentAgents, failureHandling: d.failureHandling, communicationProtocol: d.communicationProtocol, synchronizationPoints: [], ...input };
}

function plannedAllocation(agentId: string, spec: SubAgentSpecification, config: Config, expiresAt: Date): ResourceAllocation {
  const { maxTotalMemory, maxConcurrentAllocations, allowSharedResources } = config.resources;
  return {
    allocationId: `planned:${agentId}`,
    agentId,
    allocatedResources: [{ type: 'memory', amount: spec.resourceLimits.maxMemoryMB, unit: 'MB', location: 'local' }],
    constraints: { maxTotalMemory, maxConcurrentAllocations, allowSharedResources },
    expiresAt,
  };
}

function toAllocations(lanes: Lanes, subtasks: readonly SubTask[], specs: readonly SubAgentSpecification[], graph: TaskGraph, config: Config, expiresAt: Date): AgentAllocation[] {
  const laneOf = new Int32Array(subtasks.length).fill(-1);
  lanes.forEach((lane, l) => lane.forEach((i) => (laneOf[i] = l)));
  const ids = lanes.map((_, l) => `lane-${l + 1}`);
  const allocations = lanes.map((lane, l) => {
    const deps = new Set<string>();
    for (const i of lane) for (const p of graph.preds[i]!) if (laneOf[p] !== l) deps.add(ids[laneOf[p]!]!);
    const spec = specs[lane[0]!]!;
    return {
      agentId: ids[l]!,
      assignedSubTasks: lane.map((i) => subtasks[i]!),
      resourceAllocation: plannedAllocation(ids[l]!, spec, config, expiresAt),
      priority: 0,
      dependencies: [...deps],
      plugin: spec.plugin ?? spec.agentType,
      specification: spec,
    };
  });
  // Priority: lanes whose first subtask comes earliest in topological order first.
  const rank = new Int32Array(subtasks.length);
  graph.order.forEach((v, r) => (rank[v] = r));
  const order = lanes.map((lane, l) => ({ l, r: Math.min(...lane.map((i) => rank[i]!)) })).sort((a, b) => a.r - b.r);
  order.forEach(({ l }, p) => (allocations[l]!.priority = p + 1));
  return allocations;
}

/** Lanes must be non-empty and hold every subtask index (0 … n-1) exactly once. */
function checkLanes(lanes: Lanes, n: number, strategy: string): Result<void, QiError> {
  const seen = new Int32Array(n);
  let wellFormed = true;
  for (const lane of lanes) {
    if (lane.length === 0) wellFormed = false;
    for (const i of lane) {
      if (Number.isInteger(i) && i >= 0 && i < n) seen[i]! += 1;
      else wellFormed = false;
    }
  }
  if (wellFormed && seen.every((c) => c === 1)) return success(undefined);
  return failure(qiError('PLUGIN_INVALID', `strategy '${strategy}' planned lanes that are not non-empty lists of its ${n} subtask indices, each exactly once`, { strategy }));
}

/**
 * The spec's TaskDistributionEngine, made real. Pure planning, no processes: validate the task
 * and strategy, analyse (critical path, overhead), decompose when needed, build and check the
 * DAG, match every subtask to a plugin (missing capabilities named), derive each subtask's
 * SubAgent specification, lay subtasks on agent lanes with the strategy plugin, and plan the
 * channels, synchronization and fallback.
 */
export class TaskDistributionEngine {
  private readonly log: Logger;

  constructor(private readonly deps: DistributionDeps) {
    this.log = componentLogger(deps.logger, 'TaskDistributionEngine');
  }

  distributeTask(taskInput: unknown, strategyInput: unknown, context: AgentContext = {}): Result<TaskDistribution, QiError> {
    const started = performance.now();
    const parsedTask = parseTask(taskInput);
    if (parsedTask.tag === 'failure') return parsedTask;
    const parsedStrategy = parseInput(StrategySchema, withStrategyDefaults(strategyInput, this.deps.config), { code: 'INVALID_SPEC', what: 'coordination strategy', root: 'strategy' });
    if (parsedStrategy.tag === 'failure') return parsedStrategy;
    const result = this.plan(parsedTask.value, parsedStrategy.value, context);
    logPerformance(this.log, 'distributeTask', performance.now() - started, result.tag === 'success', {
      taskId: parsedTask.value.task.id,
      strategy: parsedStrategy.value.type,
      subtasks: result.tag === 'success' ? result.value.subtasks.length : undefined,
    });
    return result;
  }

  private plan(validated: ValidatedTask, strategy: CoordinationStrategy, context: AgentContext): Result<TaskDistribution, QiError> {
    const { config, registry } = this.deps;
    const { task } = validated;
    // parseTask gave every listed subtask its parentTaskId; decomposed ones have it too.
    const subtasks = decompose(task, strategy.type);
    // A validated task's DAG was built when it was validated; decomposed subtasks need one.
    const known = task.subtasks !== undefined && task.subtasks.length > 0 ? validated.graph : undefined;
    const graph = known === undefined ? buildTaskGraph(subtasks, task.dependencies) : success(known);
    if (graph.tag === 'failure') return graph;
    const analysis = analyzeDistribution(task, subtasks, graph.value, strategy);
    if (!analysis.suitable) {
      return failure(qiError('NOT_DISTRIBUTABLE', `task '${task.id}' is not suitable for distribution: ${analysis.reason}`, { taskId: task.id, analysis }));
    }
    const plugins = matchPlugins(subtasks, registry);
    if (plugins.tag === 'failure') return plugins;
    const strategyEntry = registry.strategy(strategy.type);
    if (strategyEntry === undefined) {
      const known = registry.listStrategies().map((s) => s.name);
      const hint = suggest(strategy.type, known);
      const issues = [{ path: 'strategy.type', message: `unknown strategy '${strategy.type}'${hint === undefined ? '' : ` (did you mean '${hint}'?)`}; registered: ${known.join(', ')}` }];
      return failure(qiError('INVALID_SPEC', `coordination strategy is invalid (1 problem):\nstrategy.type: ${issues[0]!.message}`, { issues }));
    }
    const parent = context.agentId ?? this.deps.coordinatorId;
    const { specs, profiles } = specificationsFor(subtasks, plugins.value, config, parent);
    const input: PlanInput = {
      subtasks: subtasks.map((s, i) => ({ id: s.id, estimatedDuration: s.estimatedDuration, profile: profiles[i]! })),
      preds: graph.value.preds,
      succs: graph.value.succs,
      order: graph.value.order,
      maxConcurrentAgents: strategy.maxConcurrentAgents,
    };
    const lanes = strategyEntry.plugin.plan(input);
    const covered = checkLanes(lanes, subtasks.length, strategy.type);
    if (covered.tag === 'failure') return covered;
    const expiresAt = new Date(Date.now() + (task.timeLimit ?? DEFAULT_ALLOCATION_TTL_MS));
    const allocations = toAllocations(lanes, subtasks, specs, graph.value, config, expiresAt);
    const sync = planSynchronization(strategy, subtasks.map((s) => s.id));
    if (sync.tag === 'failure') return sync;
    const distribution: TaskDistribution = {
      // Flat: the id outlives the run (its final status is kept for monitorExecution).
      distributionId: flatString(`dist-${randomUUID()}`),
      originalTask: task,
      strategy,
      agentAllocations: allocations,
      communicationChannels: planChannels(allocations, strategy),
      synchronizationPlan: sync.value,
      fallbackPlan: planFallback(strategy),
      subtasks,
      analysis,
      specifications: Object.fromEntries(subtasks.map((s, i) => [s.id, specs[i]!])),
    };
    return success(attachGraph(distribution, graph.value));
  }
}
