import type { QiError, Result } from '@qi/base';
import type { ChannelRouter } from '../channels/index.js';
import type { ResourceUsage } from '../schemas/resources.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SubTask } from '../schemas/task.js';
import type { SubtaskState } from './run-events.js';
import { NOT_STARTED, type SubtaskOutcome } from '../subagent/agent.js';
import type { AgentRecord } from './report.js';
import type { LiveAgent } from './run-agents.js';

export interface AttemptEnd {
  readonly outcome: Result<SubtaskOutcome, QiError>;
  readonly at: number;
  readonly durationMs: number;
  /** The agent's usage when the attempt ended (a snapshot: the agent replaces it, never mutates it). */
  readonly usage: ResourceUsage;
}

/** The subtask with its maxDuration scaled by extend-deadline. */
export function withDeadline(subtask: SubTask, factor: number): SubTask {
  const maxDuration = subtask.executionConstraints.maxDuration;
  if (maxDuration === undefined || factor === 1) return subtask;
  return { ...subtask, executionConstraints: { ...subtask.executionConstraints, maxDuration: Math.round(maxDuration * factor) } };
}

/** Milliseconds left before an attempt's deadline (as its agent enforces it: maxDuration, scaled, within maxExecutionTimeMs). */
export function msLeft(subtask: SubTask, spec: SubAgentSpecification, s: Pick<SubtaskState, 'deadlineFactor' | 'startedAt'>, now = Date.now()): number {
  const limit = Math.min(withDeadline(subtask, s.deadlineFactor).executionConstraints.maxDuration ?? Infinity, spec.resourceLimits.maxExecutionTimeMs);
  return limit - (now - (s.startedAt ?? now));
}

/**
 * Runs one attempt of a subtask on its leased agent: the agent may speak for the subtask on the
 * channels while it runs; its busy time, usage and the subtask's end are booked on the agent's record.
 */
export async function attemptOn(
  live: LiveAgent,
  record: AgentRecord,
  router: ChannelRouter,
  subtask: SubTask,
  inputs: Record<string, unknown>,
  attempt: number,
  startedAt: number,
): Promise<AttemptEnd | typeof NOT_STARTED> {
  router.bindSubtask(subtask.id, live.agent.id);
  const outcome = await live.agent.run(subtask, inputs, attempt);
  router.unbindSubtask(subtask.id);
  if (outcome === NOT_STARTED) return NOT_STARTED;
  const at = Date.now();
  const usage = live.agent.instance.resourceUsage;
  // One sent ahead began when the one before it ended, not when it was sent.
  const began = outcome.tag === 'success' ? outcome.value.startedAt : startedAt;
  record.busyMs += at - began;
  record.usage = usage;
  record.peakMemoryMB = Math.max(record.peakMemoryMB, live.agent.peakRssMB);
  (outcome.tag === 'success' ? record.completed : record.failed).push(subtask.id);
  return { outcome, at, durationMs: at - began, usage };
}
