import type { SubtaskStatus } from '../events/types.js';
import { TERMINAL_STATUSES, type AttemptEnd, type RunEvent, type RunState, type SubtaskState } from './run-events.js';

/** The state of a run of `ids` before anything happened. */
export function initialRunState(ids: readonly string[]): RunState {
  const state: RunState = {
    subtasks: [],
    counts: { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 },
    syncOutcomes: {},
    fallbacks: [],
    reassignments: 0,
    reservedAttempts: 0,
    startedAt: undefined,
    ended: undefined,
  };
  addSubtasks(state, ids);
  return state;
}

function addSubtasks(state: RunState, ids: readonly string[]): void {
  for (const id of ids) {
    state.subtasks.push({ id, status: 'pending', attempts: 0, tries: 0, agentId: undefined, error: undefined, startedAt: undefined, endedAt: undefined, usage: undefined, outputs: undefined, deadlineFactor: 1, extensions: 0 });
  }
  state.counts.pending += ids.length;
}

/** The one place a subtask's status is written; keeps `counts` in step. A terminal status is final. */
function setStatus(state: RunState, subtask: SubtaskState, status: SubtaskStatus): void {
  state.counts[subtask.status] -= 1;
  state.counts[status] += 1;
  subtask.status = status;
}

/**
 * Applies one event to the state (the run's only writer). Deterministic and free of effects
 * beyond `state`: no clock, no I/O, so replaying a journal's events rebuilds the same state.
 * It mutates in place (a copy per event would make a 100,000-subtask run quadratic).
 * Returns false, changing nothing, for an event that does not fit the state (a subtask already
 * ended, an unknown index): such an event is a stale report, not a transition.
 */
export function applyEvent(state: RunState, event: RunEvent): boolean {
  switch (event.type) {
    case 'run-started':
      state.startedAt = event.at;
      return true;
    case 'subtasks-added':
      addSubtasks(
        state,
        event.subtasks.map((s) => s.id),
      );
      return true;
    case 'sync-released':
      state.syncOutcomes[event.pointId] = event.outcome;
      return true;
    case 'attempts-reserved':
      if (!Number.isSafeInteger(event.upTo) || event.upTo <= state.reservedAttempts) return false;
      state.reservedAttempts = event.upTo;
      return true;
    case 'fallback-applied':
      return applyFallback(state, event);
    case 'run-ended':
      if (state.ended !== undefined) return false;
      state.ended = { status: event.status, ...(event.error === undefined ? {} : { error: event.error }), at: event.at };
      return true;
    default:
      return applySubtaskEvent(state, event);
  }
}

type SubtaskEvent = Exclude<RunEvent, { type: 'run-started' | 'subtasks-added' | 'sync-released' | 'attempts-reserved' | 'fallback-applied' | 'run-ended' }>;

function applySubtaskEvent(state: RunState, event: SubtaskEvent): boolean {
  const s = state.subtasks[event.index];
  if (s === undefined || TERMINAL_STATUSES.has(s.status)) return false;
  switch (event.type) {
    case 'subtask-dispatched':
      if (s.status !== 'pending') return false;
      setStatus(state, s, 'running');
      s.attempts = event.attempt;
      s.tries += 1;
      return true;
    case 'subtask-started':
      if (s.status !== 'running') return false;
      s.agentId = event.agentId;
      s.startedAt = event.at;
      return true;
    case 'subtask-succeeded':
      setStatus(state, s, 'succeeded');
      s.outputs = event.outputs;
      // An earlier attempt's failure (retried, or a deadline extended) is not the subtask's error.
      s.error = undefined;
      return endAttempt(s, event);
    case 'subtask-requeued':
      setStatus(state, s, 'pending');
      s.error = event.error;
      return endAttempt(s, event);
    case 'subtask-failed':
      setStatus(state, s, 'failed');
      s.error = event.error;
      return endAttempt(s, event);
    case 'subtask-cancelled':
      setStatus(state, s, 'cancelled');
      if (event.error !== undefined) s.error = event.error;
      s.endedAt ??= event.at;
      return true;
    case 'subtask-skipped':
      setStatus(state, s, 'skipped');
      s.error = event.error;
      s.endedAt ??= event.at;
      return true;
  }
}

function endAttempt(s: SubtaskState, event: AttemptEnd): boolean {
  s.endedAt = event.at;
  if (event.usage !== undefined) s.usage = event.usage;
  // A replayed attempt has no start of its own: its end says where and when it began.
  if (typeof event.agentId === 'string') s.agentId = event.agentId;
  if (typeof event.startedAt === 'number') s.startedAt = event.startedAt;
  return true;
}

function applyFallback(state: RunState, event: Extract<RunEvent, { type: 'fallback-applied' }>): boolean {
  state.fallbacks.push({ action: event.action, detail: event.detail });
  if (event.action === 'reassign-tasks') state.reassignments += 1;
  if (event.action === 'extend-deadline') {
    const s = state.subtasks[Number(event.detail['index'])];
    if (s !== undefined) {
      s.extensions += 1;
      s.deadlineFactor *= Number(event.detail['factor'] ?? 1);
    }
  }
  return true;
}
