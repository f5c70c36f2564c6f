import type { TaskGraph } from '../dag/graph.js';
import { criticalPath } from '../dag/graph.js';
import type { CoordinationStrategy } from '../schemas/strategy.js';
import type { DistributedTask, SubTask } from '../schemas/task.js';
import type { DistributionAnalysis } from './types.js';

/**
 * Cost model of coordination, from `npm run bench` on a 2-core machine: a cold agent start is
 * about 50 ms and a subtask dispatch round trip well under 1 ms. Used only to estimate.
 */
export const COST_MODEL = { agentStartMs: 50, dispatchMs: 1 } as const;

function opportunities(subtasks: readonly SubTask[], graph: TaskGraph): string[] {
  const out: string[] = [];
  if (graph.preds.filter((p) => p.length === 0).length > 1) out.push('independent-task-parallelization');
  if (subtasks.filter((s) => s.agentRequirements.resourceNeeds.some((n) => n.shared)).length > 1) out.push('resource-sharing-parallelization');
  return out;
}

/**
 * The spec's distribution analysis, with its rules kept and its estimate computed from the
 * subtasks' `estimatedDuration` and the DAG's critical path:
 * - not decomposable → unsuitable;
 * - simple and not parallelizable → unsuitable, unless the strategy is sequential (one agent,
 *   no parallelism is claimed);
 * - estimated coordination overhead at least the whole work → unsuitable.
 * `recommendedAgents` is the DAG's average parallelism (work / critical path), capped by the
 * strategy; `estimatedBenefit` = 1 − (estimated makespan + overhead) / work, in [0, 1].
 */
export function analyzeDistribution(task: DistributedTask, subtasks: readonly SubTask[], graph: TaskGraph, strategy: CoordinationStrategy): DistributionAnalysis {
  const durations = subtasks.map((s) => s.estimatedDuration);
  const totalWorkMs = durations.reduce((a, b) => a + b, 0);
  const cp = criticalPath(graph, durations);
  const parallelism = cp.length > 0 ? totalWorkMs / cp.length : 1;
  const cap = strategy.type === 'sequential' ? 1 : strategy.maxConcurrentAgents;
  const recommendedAgents = Math.max(1, Math.min(cap, Math.floor(parallelism + 1e-9), subtasks.length));
  const overheadMs = recommendedAgents * COST_MODEL.agentStartMs + subtasks.length * COST_MODEL.dispatchMs;
  const makespan = Math.max(cp.length, totalWorkMs / recommendedAgents);
  const estimatedBenefit = totalWorkMs > 0 ? Math.min(1, Math.max(0, 1 - (makespan + overheadMs) / totalWorkMs)) : 0;
  const base = {
    recommendedAgents,
    parallelizationOpportunities: opportunities(subtasks, graph),
    resourceRequirements: task.resourceRequirements,
    estimatedBenefit,
    totalWorkMs,
    criticalPathMs: cp.length,
    criticalPath: cp.path,
    overheadMs,
  };
  if (!task.decomposable) return { ...base, suitable: false, reason: 'Task is not decomposable' };
  if (!task.parallelizable && task.complexity === 'simple' && strategy.type !== 'sequential') {
    return { ...base, suitable: false, reason: `Task is too simple and not parallelizable for a ${strategy.type} strategy (use sequential)` };
  }
  if (subtasks.length > 0 && overheadMs >= totalWorkMs) {
    return { ...base, suitable: false, reason: `Distribution overhead exceeds expected benefits: about ${overheadMs} ms of coordination for ${totalWorkMs} ms of estimated work` };
  }
  return { ...base, suitable: true, reason: '' };
}
