import type { QiError } from '@qi/base';
import { aggregate, agentResults, metrics, type AgentRecord, type Placement } from './report.js';
import type { RunState } from './run-events.js';
import type { CoordinationResult, ExecutionStatus } from './types.js';

/** The CoordinationResult of an ended run, from its state and the agents it used. */
export function buildResult(
  id: string,
  state: RunState,
  agents: readonly AgentRecord[],
  executionTime: number,
  communicationMs: number,
  error: QiError | undefined,
  placement: (index: number) => Placement = () => ({ depth: 0 }),
): CoordinationResult {
  const results = agentResults(agents, new Map(state.subtasks.map((s) => [s.id, s])));
  return {
    coordinationId: id,
    // Delegated subtasks (depth > 0) answer to their parents, which succeeded or not with them.
    success: error === undefined && state.subtasks.every((s, i) => s.status === 'succeeded' || placement(i).depth > 0),
    results,
    aggregatedResult: aggregate(state.subtasks, results, state.fallbacks, placement),
    metrics: metrics(results, executionTime, communicationMs),
    executionTime,
    ...(error === undefined ? {} : { error }),
  };
}

/** Live progress of a run (spec: ExecutionStatus); `partial` sums the running subtasks' reported progress. */
export function executionStatus(id: string, status: ExecutionStatus['status'], counts: RunState['counts'], partial: number, activeAgents: number): ExecutionStatus {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const finished = total - counts.pending - counts.running;
  return { coordinationId: id, status, progress: total === 0 ? 1 : Math.min(1, (finished + partial) / total), activeAgents, completedTasks: counts.succeeded, totalTasks: total };
}
