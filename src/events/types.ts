import type { QiError } from '@qi/base';
import type { ConcurrencyLimit } from '../execution/concurrency.js';
import type { AgentEvent } from '../subagent/agent.js';

/** Terminal and live states of a subtask in a run. */
export type SubtaskStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** Everything `coordinator.events()` streams. Every event carries `at` (ms since the epoch). */
export type CoordinatorEvent =
  | { readonly type: 'run-start'; readonly coordinationId: string; readonly taskId: string; readonly subtasks: number; readonly at: number }
  | { readonly type: 'run-end'; readonly coordinationId: string; readonly success: boolean; readonly status: string; readonly executionTime: number; readonly at: number }
  | { readonly type: 'subtask-start'; readonly coordinationId: string; readonly subtaskId: string; readonly agentId: string; readonly attempt: number; readonly at: number }
  | {
      readonly type: 'subtask-end';
      readonly coordinationId: string;
      readonly subtaskId: string;
      readonly agentId?: string | undefined;
      readonly status: SubtaskStatus;
      readonly attempt: number;
      readonly error?: QiError | undefined;
      readonly at: number;
    }
  /** Subtasks a running subtask delegated (ctx.delegate): they join the run under their parent. */
  | {
      readonly type: 'subtasks-delegated';
      readonly coordinationId: string;
      readonly parentId: string;
      readonly subtasks: readonly { readonly id: string; readonly agent: string; readonly depth: number; readonly description: string }[];
      readonly at: number;
    }
  | { readonly type: 'subtask-retry'; readonly coordinationId: string; readonly subtaskId: string; readonly attempt: number; readonly delayMs: number; readonly reason: string; readonly at: number }
  | { readonly type: 'fallback'; readonly coordinationId: string; readonly action: string; readonly detail: Readonly<Record<string, unknown>>; readonly at: number }
  | {
      readonly type: 'concurrency';
      readonly coordinationId: string;
      /** Subtasks the run may run at once from now on. */
      readonly value: number;
      readonly reason: string;
      /** What caps `value`: the strategy, the plan's maxConcurrentAgents, or the resource budget. */
      readonly limitedBy: ConcurrencyLimit;
      /** What the strategy and the plan asked for, before the budget. */
      readonly requested: number;
      readonly at: number;
    }
  | { readonly type: 'agent'; readonly coordinationId?: string | undefined; readonly event: AgentEvent; readonly at: number }
  | { readonly type: 'sync'; readonly coordinationId: string; readonly event: Readonly<Record<string, unknown>>; readonly at: number }
  | { readonly type: 'channel'; readonly coordinationId: string; readonly event: Readonly<Record<string, unknown>>; readonly at: number };
