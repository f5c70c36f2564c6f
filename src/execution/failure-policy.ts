import type { QiError } from '@qi/base';
import { getRetryStrategy } from '@qi/base';
import type { FallbackPlan } from '../distribution/types.js';
import { qiError } from '../errors/catalogue.js';
import type { CoordinationStrategy } from '../schemas/strategy.js';
import type { RunState, SubtaskState } from './run-events.js';

/**
 * What a run does when an attempt fails, decided from plain data only (no processes, no clock):
 * the failure strategy and the plan's fallback actions, whose parameters are the one source of
 * every figure (retry attempts and delay, deadline extensions).
 * @module
 */

/** What kind of failure an attempt had, as the plan's `triggers` name them. */
export type FailureTrigger = 'agent-failure' | 'timeout' | 'resource-exhaustion';

export interface FailurePolicy {
  readonly handling: CoordinationStrategy['failureHandling'];
  /** The plan's `triggers`: kinds of failure its fallback actions answer; any other fails its subtask at once. */
  readonly triggers: readonly string[];
  /** From the plan's `retry-on-fresh-agent` action (condition `retryable-failure`); none, no retries. */
  readonly retry: { readonly maxAttempts: number; readonly baseDelayMs: number } | undefined;
  /** From the plan's `extend-deadline` action (condition `timeout`); none, no extensions. */
  readonly extendDeadline: { readonly maxExtensions: number; readonly factor: number } | undefined;
}

/** Codes of an agent stopped at one of its limits. */
const RESOURCE_CODES: ReadonlySet<string> = new Set(['MEMORY_LIMIT', 'CPU_LIMIT', 'DISK_LIMIT', 'TOOL_BUDGET', 'FILE_OP_BUDGET', 'INSUFFICIENT_RESOURCES']);

/** The trigger an attempt's error is. */
export function triggerOf(error: QiError): FailureTrigger {
  if (error.code === 'TIME_LIMIT') return 'timeout';
  return RESOURCE_CODES.has(error.code) ? 'resource-exhaustion' : 'agent-failure';
}

/** What the run loop is told to do. */
export type RunCommand =
  /** Start ready subtasks up to the effective concurrency. */
  | { readonly type: 'dispatch' }
  | { readonly type: 'extend-deadline'; readonly index: number; readonly factor: number }
  /** Back to pending; ready again after `delayMs`, on a fresh agent. */
  | { readonly type: 'retry'; readonly index: number; readonly delayMs: number; readonly reason: string; readonly error: QiError }
  | { readonly type: 'fail-subtask'; readonly index: number; readonly error: QiError }
  | { readonly type: 'cancel-subtask'; readonly index: number; readonly error: QiError }
  /** Skip every pending subtask downstream of `index`. */
  | { readonly type: 'skip-subtree'; readonly index: number }
  /** Cancel the run: running agents stopped, pending subtasks cancelled. */
  | { readonly type: 'fail-run'; readonly error: QiError };

/**
 * The parameters of the plan's `action` when its `condition` is the one this policy evaluates for
 * it (`timeout` for extend-deadline, `retryable-failure` for retry-on-fresh-agent); an action
 * under any other condition is never carried out.
 */
function parameters(plan: FallbackPlan, action: string, condition: string): Readonly<Record<string, unknown>> | undefined {
  return plan.actions.find((a) => a.action === action && a.condition === condition)?.parameters;
}

/** The policy a plan states (read once, when the run starts). */
export function failurePolicyOf(plan: { readonly strategy: Pick<CoordinationStrategy, 'failureHandling'>; readonly fallbackPlan: FallbackPlan }): FailurePolicy {
  const retry = parameters(plan.fallbackPlan, 'retry-on-fresh-agent', 'retryable-failure');
  const extend = parameters(plan.fallbackPlan, 'extend-deadline', 'timeout');
  return {
    handling: plan.strategy.failureHandling,
    triggers: plan.fallbackPlan.triggers,
    retry: retry === undefined ? undefined : { maxAttempts: Number(retry['maxAttempts'] ?? 1), baseDelayMs: Number(retry['baseDelayMs'] ?? 0) },
    extendDeadline: extend === undefined ? undefined : { maxExtensions: Number(extend['maxExtensions'] ?? 0), factor: Number(extend['extensionFactor'] ?? 1) },
  };
}

/**
 * An attempt of `subtask` failed with `error`: when the plan's triggers name its kind of failure,
 * extend its deadline (a TIME_LIMIT with extensions left) or retry it (retry-cascade, a retryable
 * category, attempts left); otherwise fail it and then cancel
 * the run (fail-fast) or skip what depends on it. A failure while the run is being cancelled is
 * the cancellation's.
 */
export function decideOnFailure(policy: FailurePolicy, index: number, subtask: SubtaskState, error: QiError, runCancelled: boolean): RunCommand[] {
  if (runCancelled) return [{ type: 'cancel-subtask', index, error }, { type: 'dispatch' }];
  const triggered = policy.triggers.includes(triggerOf(error));
  const extend = policy.extendDeadline;
  if (triggered && error.code === 'TIME_LIMIT' && extend !== undefined && subtask.extensions < extend.maxExtensions) {
    return [
      { type: 'extend-deadline', index, factor: extend.factor },
      { type: 'retry', index, delayMs: 0, reason: 'deadline extended', error },
      { type: 'dispatch' },
    ];
  }
  const retry = policy.retry;
  const how = getRetryStrategy(error.category).strategy;
  if (triggered && policy.handling === 'retry-cascade' && retry !== undefined && how !== 'never' && subtask.tries < retry.maxAttempts) {
    // Tries, not the attempt's number: after a resume, numbers continue above the earlier run's.
    const delayMs = how === 'exponential_backoff' ? retry.baseDelayMs * 2 ** (subtask.tries - 1) : retry.baseDelayMs * subtask.tries;
    return [{ type: 'retry', index, delayMs, reason: `${error.code} (${how})`, error }, { type: 'dispatch' }];
  }
  if (policy.handling === 'fail-fast') {
    const cancel = qiError('CANCELLED', `run cancelled after subtask '${subtask.id}' failed (fail-fast): ${error.message}`, { cause: error.code, subtaskId: subtask.id });
    return [
      { type: 'fail-subtask', index, error },
      { type: 'fail-run', error: cancel },
    ];
  }
  return [
    { type: 'fail-subtask', index, error },
    { type: 'skip-subtree', index },
    { type: 'dispatch' },
  ];
}

/** The pending subtasks downstream of `index` (depth first), each once. */
export function pendingSubtree(state: RunState, succs: readonly (readonly number[])[], index: number): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const stack = [...(succs[index] ?? [])];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s) || state.subtasks[s]?.status !== 'pending') continue;
    seen.add(s);
    out.push(s);
    stack.push(...(succs[s] ?? []));
  }
  return out;
}

/** The error a skipped subtask carries: which upstream did not succeed. */
export function skippedError(subtaskId: string, upstream: string): QiError {
  return qiError('SKIPPED', `subtask '${subtaskId}' was skipped: its upstream '${upstream}' did not succeed`, { upstream });
}

/** A subtask left waiting when nothing can run any more: an upstream will never succeed. */
export function unreachableError(subtaskId: string): QiError {
  return qiError('SKIPPED', `subtask '${subtaskId}' could not start: an upstream subtask did not succeed`, {});
}

/** The strategy's scheduler started none of the ready subtasks while nothing was running. */
export function stalledError(strategy: string, ready: number): QiError {
  return qiError('PLUGIN_INVALID', `strategy '${strategy}' started none of the ${ready} ready subtask(s) while nothing was running; its scheduler's pick must choose one`, { strategy });
}

/** Why a subtask was cancelled with its run: CANCELLED, naming the run's reason. */
export function cancelledError(subtaskId: string, reason: QiError): QiError {
  return qiError('CANCELLED', `subtask '${subtaskId}' cancelled: ${reason.message}`, { subtaskId, cause: reason.code });
}
