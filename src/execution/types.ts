import type { QiError } from '@qi/base';
import type { SubtaskStatus } from '../events/types.js';
import type { ResourceUsage } from '../schemas/resources.js';

/** One agent's part of a run (spec: AgentExecutionResult). */
export interface AgentExecutionResult {
  readonly agentId: string;
  readonly success: boolean;
  /** Outputs of the subtasks it completed, by subtask id. */
  readonly result?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly error?: string;
  /** Busy time, ms. */
  readonly executionTime: number;
  readonly tasksCompleted: number;
  readonly resourceUsage: ResourceUsage;
}

/** spec: CoordinationMetrics — every figure measured. */
export interface CoordinationMetrics {
  readonly totalAgents: number;
  readonly successfulAgents: number;
  readonly failedAgents: number;
  readonly averageExecutionTime: number;
  readonly totalResourceUsage: ResourceUsage;
  /** ms spent in coordination messaging and synchronization waits. */
  readonly communicationOverhead: number;
  /** busy agent-time / (makespan × agents used), 0..1. */
  readonly coordinationEfficiency: number;
}

/** One subtask in `aggregatedResult.subtasks` (DESIGN A8). */
export interface SubtaskReport {
  readonly id: string;
  readonly agentId: string | null;
  readonly status: Exclude<SubtaskStatus, 'pending' | 'running'>;
  readonly attempts: number;
  readonly error?: QiError;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly resourceUsage: ResourceUsage | null;
  /** A delegated subtask (ctx.delegate): the subtask that delegated it, and its depth (1 under a planned subtask). */
  readonly parentId?: string;
  readonly depth?: number;
}

/** What a run returns as `aggregatedResult`: DESIGN A8's outputs and subtasks, and the spec's totals. */
export interface AggregatedResult {
  readonly outputs: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly subtasks: readonly SubtaskReport[];
  readonly totalResults: number;
  readonly successfulResults: number;
  readonly failedResults: number;
  readonly combinedResults: readonly unknown[];
  readonly executionSummary: { readonly totalExecutionTime: number; readonly averageExecutionTime: number; readonly tasksCompleted: number };
  /** Fallback actions carried out (reassign-tasks, extend-deadline). */
  readonly fallbacks: readonly { readonly action: string; readonly detail: Readonly<Record<string, unknown>> }[];
}

/** spec: CoordinationResult. */
export interface CoordinationResult<T = AggregatedResult> {
  readonly coordinationId: string;
  readonly success: boolean;
  readonly results: readonly AgentExecutionResult[];
  readonly aggregatedResult: T;
  readonly metrics: CoordinationMetrics;
  readonly executionTime: number;
  /** Why the run did not succeed (first failure, cancellation, time limit), if it did not. */
  readonly error?: QiError;
}

/** spec: ExecutionStatus. */
export interface ExecutionStatus {
  readonly coordinationId: string;
  readonly status: 'running' | 'completed' | 'failed' | 'cancelled';
  readonly progress: number;
  readonly activeAgents: number;
  readonly completedTasks: number;
  readonly totalTasks: number;
}
