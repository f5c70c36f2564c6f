import type { QiError } from '@qi/base';
import type { ResourceUsage } from '../schemas/resources.js';
import type { SubtaskState } from './run-events.js';
import type { AgentExecutionResult, AggregatedResult, CoordinationMetrics, SubtaskReport } from './types.js';

/** What the run knows about one subtask: its state in the run (see run-events.ts). */
export type SubtaskRecord = SubtaskState;

/** What the run knows about one agent it used. */
export interface AgentRecord {
  readonly agentId: string;
  busyMs: number;
  completed: string[];
  failed: string[];
  usage: ResourceUsage;
  peakMemoryMB: number;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function sumUsage(usages: readonly ResourceUsage[]): ResourceUsage {
  return usages.reduce<ResourceUsage>(
    (t, u) => ({
      memoryMB: t.memoryMB + u.memoryMB,
      executionTimeMs: t.executionTimeMs + u.executionTimeMs,
      toolCalls: t.toolCalls + u.toolCalls,
      networkRequests: t.networkRequests + u.networkRequests,
      fileOperations: t.fileOperations + u.fileOperations,
      cpuPercent: (t.cpuPercent ?? 0) + (u.cpuPercent ?? 0),
    }),
    { memoryMB: 0, executionTimeMs: 0, toolCalls: 0, networkRequests: 0, fileOperations: 0, cpuPercent: 0 },
  );
}

export function agentResults(agents: readonly AgentRecord[], records: ReadonlyMap<string, SubtaskRecord>): AgentExecutionResult[] {
  return agents.map((a) => {
    const result = Object.fromEntries(a.completed.map((id) => [id, records.get(id)?.outputs ?? {}]));
    const firstError = a.failed.map((id) => records.get(id)?.error?.message).find((m) => m !== undefined);
    return {
      agentId: a.agentId,
      success: a.failed.length === 0,
      result,
      ...(firstError === undefined ? {} : { error: firstError }),
      executionTime: a.busyMs,
      tasksCompleted: a.completed.length,
      resourceUsage: { ...a.usage, memoryMB: a.peakMemoryMB },
    };
  });
}

/** Where a subtask sits in the delegation tree: a delegated one names its parent. */
export interface Placement {
  readonly parentId?: string;
  readonly depth: number;
}

export function aggregate(records: readonly SubtaskRecord[], results: readonly AgentExecutionResult[], fallbacks: AggregatedResult['fallbacks'], placement: (index: number) => Placement = () => ({ depth: 0 })): AggregatedResult {
  const outputs: Record<string, Readonly<Record<string, unknown>>> = {};
  const subtasks: SubtaskReport[] = records.map((r, i) => {
    const { parentId, depth } = placement(i);
    if (r.outputs !== undefined) outputs[r.id] = r.outputs;
    const status = r.status === 'pending' || r.status === 'running' ? 'cancelled' : r.status;
    return {
      id: r.id,
      agentId: r.agentId ?? null,
      status,
      attempts: r.attempts,
      ...(r.error === undefined ? {} : { error: r.error }),
      startedAt: iso(r.startedAt),
      endedAt: iso(r.endedAt),
      resourceUsage: r.usage ?? null,
      ...(parentId === undefined ? {} : { parentId, depth }),
    };
  });
  const successful = results.filter((r) => r.success);
  const totalExecutionTime = results.reduce((s, r) => s + r.executionTime, 0);
  return {
    outputs,
    subtasks,
    totalResults: results.length,
    successfulResults: successful.length,
    failedResults: results.length - successful.length,
    combinedResults: Object.values(outputs),
    executionSummary: {
      totalExecutionTime,
      averageExecutionTime: results.length === 0 ? 0 : totalExecutionTime / results.length,
      tasksCompleted: results.reduce((s, r) => s + r.tasksCompleted, 0),
    },
    fallbacks,
  };
}

/** CoordinationMetrics from measurements: busy time, makespan, messaging and sync-wait time. */
export function metrics(results: readonly AgentExecutionResult[], makespanMs: number, communicationMs: number): CoordinationMetrics {
  const busy = results.reduce((s, r) => s + r.executionTime, 0);
  const used = results.length;
  return {
    totalAgents: used,
    successfulAgents: results.filter((r) => r.success).length,
    failedAgents: results.filter((r) => !r.success).length,
    averageExecutionTime: used === 0 ? 0 : busy / used,
    totalResourceUsage: sumUsage(results.map((r) => r.resourceUsage)),
    communicationOverhead: Math.round(communicationMs * 1000) / 1000,
    coordinationEfficiency: used === 0 || makespanMs <= 0 ? 0 : Math.min(1, busy / (makespanMs * used)),
  };
}
