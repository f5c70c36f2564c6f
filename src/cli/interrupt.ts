import { qiError } from '../errors/catalogue.js';
import type { CoordinationResult, SubtaskReport } from '../execution/types.js';

/** The signals the CLI stops on, and their conventional exit codes (128 + signal number). */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT;

/**
 * A run stopped by a signal, as the user should see it: every subtask that was cancelled or
 * ended failing after the signal (its agent was stopped, or received the terminal's SIGINT
 * itself) is `cancelled` with a CANCELLED error naming the signal, the crash kept as its cause;
 * agents whose subtasks were all cancelled no longer count as failed.
 */
export function asInterrupted(result: CoordinationResult, signal: StopSignal, at: number): CoordinationResult {
  const interrupted = (s: SubtaskReport): boolean =>
    s.status === 'cancelled' || (s.status === 'failed' && s.endedAt !== null && Date.parse(s.endedAt) >= at);
  const subtasks = result.aggregatedResult.subtasks.map((s): SubtaskReport => {
    if (!interrupted(s)) return s;
    const cause = s.error !== undefined && s.error.code !== 'CANCELLED' ? { cause: s.error } : {};
    return { ...s, status: 'cancelled', error: qiError('CANCELLED', `subtask '${s.id}' cancelled: interrupted by ${signal}`, { subtaskId: s.id, signal, ...cause }) };
  });
  const failedBy = new Set(subtasks.filter((s) => s.status === 'failed').map((s) => s.agentId));
  const results = result.results.map((r) => ({ ...r, success: !failedBy.has(r.agentId) }));
  const failedAgents = results.filter((r) => !r.success).length;
  return {
    ...result,
    success: false,
    results,
    aggregatedResult: { ...result.aggregatedResult, subtasks, failedResults: subtasks.filter((s) => s.status === 'failed').length },
    metrics: { ...result.metrics, failedAgents, successfulAgents: results.length - failedAgents },
    error: qiError('CANCELLED', `run interrupted by ${signal}: agents stopped, partial result kept`, { signal }),
  };
}
