import type { QiError } from '@qi/base';
import { aggregate, agentResults, metrics, type AgentRecord } from './report.js';
import type { RunState } from './run-events.js';
import type { CoordinationResult } from './types.js';

/** The CoordinationResult of an ended run, from its state and the agents it used. */
export function buildResult(id: string, state: RunState, agents: readonly AgentRecord[], executionTime: number, communicationMs: number, error: QiError | undefined): CoordinationResult {
  const results = agentResults(agents, new Map(state.subtasks.map((s) => [s.id, s])));
  return {
    coordinationId: id,
    success: error === undefined && state.counts.succeeded === state.subtasks.length,
    results,
    aggregatedResult: aggregate(state.subtasks, results, state.fallbacks),
    metrics: metrics(results, executionTime, communicationMs),
    executionTime,
    ...(error === undefined ? {} : { error }),
  };
}
