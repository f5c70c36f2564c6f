import { qiError } from '../errors/catalogue.js';
import type { RunEvent, RunState } from './run-events.js';

/** What replaying a journal needs of its run. */
export interface ReplayHost {
  readonly state: RunState;
  /** The id of subtask `i` in the plan (undefined past its end). */
  idOf(i: number): string | undefined;
  /** A journal's delegated subtasks fit the run (shape, parent, never wider than it). */
  accepts(event: Extract<RunEvent, { type: 'subtasks-added' }>): boolean;
  /** Applies an event to the run (not journaled again: it is on disk already). */
  record(event: RunEvent): boolean;
}

/**
 * Applies the events of a run's earlier life (a journal) as they happened, so succeeded subtasks
 * keep their outputs and released sync points their outcome. A run stopped by a cancel (Ctrl-C)
 * resumes as if it had been killed: its end and the cancellations that came with it are not
 * replayed, so those subtasks run again. A journal is read back from disk: an event naming a
 * subtask by an index that is not that subtask's, or an attempt by anything but a positive whole
 * number, is dropped, and delegated subtasks are checked again.
 */
export function replay(events: readonly RunEvent[], host: ReplayHost): void {
  const cancelledRun = events.some((e) => e.type === 'run-ended' && e.status === 'cancelled');
  for (const event of events) {
    if (event.type === 'run-ended' || (cancelledRun && event.type === 'subtask-cancelled')) continue;
    if (event.type === 'subtasks-added' && !host.accepts(event)) continue;
    if ('index' in event && host.idOf(event.index) !== event.subtaskId) continue;
    // An attempt number is a positive whole number (a run numbers attempts from it).
    if ('attempt' in event && !(Number.isSafeInteger(event.attempt) && event.attempt > 0)) continue;
    // `subtask-dispatched` is not journaled: an attempt's first record on disk stands for its dispatch too.
    if ('attempt' in event && event.type !== 'subtask-dispatched' && host.state.subtasks[event.index]!.status === 'pending') {
      host.record({ type: 'subtask-dispatched', index: event.index, subtaskId: event.subtaskId, attempt: event.attempt, at: event.at });
    }
    host.record(event);
  }
}

/**
 * After the replay: attempts that were in flight go back to pending (their next attempt number
 * follows), and the subtasks whose inputs all exist are returned, ready to run.
 */
export function resumePoint(state: RunState, preds: readonly (readonly number[])[], record: (event: RunEvent) => boolean): number[] {
  const interrupted = qiError('CANCELLED', 'the coordinator stopped during this attempt; it runs again after the resume', {});
  state.subtasks.forEach((s, i) => {
    if (s.status === 'running') record({ type: 'subtask-requeued', index: i, subtaskId: s.id, attempt: s.attempts, error: interrupted, delayMs: 0, reason: 'resumed', at: Date.now() });
  });
  const succeeded = (p: number): boolean => state.subtasks[p]!.status === 'succeeded';
  const ready: number[] = [];
  state.subtasks.forEach((s, i) => {
    if (s.status === 'pending' && preds[i]!.every(succeeded)) ready.push(i);
  });
  return ready;
}
