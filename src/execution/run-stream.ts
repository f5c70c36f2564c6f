import type { CoordinatorEvent } from '../events/types.js';
import type { RunEvent, RunState } from './run-events.js';

/**
 * The `coordinator.events()` record of a run event just applied to `state`, if it has one
 * (subtask start and end, retry, fallback; the others are the run's own bookkeeping).
 */
export function streamEventOf(coordinationId: string, event: RunEvent, state: RunState): CoordinatorEvent | undefined {
  const at = event.at;
  switch (event.type) {
    case 'subtask-started':
      return { type: 'subtask-start', coordinationId, subtaskId: event.subtaskId, agentId: event.agentId, attempt: event.attempt, at };
    case 'subtask-requeued':
      return { type: 'subtask-retry', coordinationId, subtaskId: event.subtaskId, attempt: event.attempt + 1, delayMs: event.delayMs, reason: event.reason, at };
    case 'subtasks-added': {
      const parentId = event.subtasks[0]?.parentId ?? '';
      return { type: 'subtasks-delegated', coordinationId, parentId, subtasks: event.subtasks.map((d) => ({ id: d.id, agent: d.subtask.agent ?? '', depth: d.depth, description: d.subtask.description })), at };
    }
    case 'fallback-applied':
      return { type: 'fallback', coordinationId, action: event.action, detail: event.detail, at };
    case 'subtask-succeeded':
    case 'subtask-failed':
    case 'subtask-skipped':
    case 'subtask-cancelled': {
      const s = state.subtasks[event.index]!;
      return { type: 'subtask-end', coordinationId, subtaskId: s.id, agentId: s.agentId, status: s.status, attempt: s.attempts, error: s.error, at };
    }
    default:
      return undefined;
  }
}
