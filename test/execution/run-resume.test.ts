/**
 * The replay of a journal's events (pure): what is applied, what is dropped, and where the run
 * goes on from.
 */
import { describe, expect, it } from 'vitest';
import { qiError } from '../../src/errors/catalogue.js';
import { applyEvent, initialRunState } from '../../src/execution/reducer.js';
import type { RunEvent } from '../../src/execution/run-events.js';
import { replay, resumePoint } from '../../src/execution/run-resume.js';
import { msLeft } from '../../src/execution/run-attempt.js';

const ids = ['a', 'b', 'c'];

function replayed(events: RunEvent[]): { state: ReturnType<typeof initialRunState>; applied: RunEvent[] } {
  const state = initialRunState(ids);
  const applied: RunEvent[] = [];
  replay(events, {
    state,
    idOf: (i) => ids[i],
    accepts: () => false,
    record: (e) => {
      applied.push(e);
      return applyEvent(state, e);
    },
  });
  return { state, applied };
}

const cancelled = qiError('CANCELLED', 'stopped', {});

describe('replay', () => {
  it("applies an attempt's first record on disk as its dispatch too", () => {
    const { state, applied } = replayed([
      { type: 'run-started', at: 1 },
      { type: 'subtask-started', index: 0, subtaskId: 'a', attempt: 1, agentId: 'x', at: 2 },
      { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 1, outputs: { o: 1 }, at: 3 },
    ]);
    expect(applied.map((e) => e.type)).toEqual(['run-started', 'subtask-dispatched', 'subtask-started', 'subtask-succeeded']);
    expect(state.subtasks[0]).toMatchObject({ status: 'succeeded', outputs: { o: 1 } });
  });

  it('drops an event whose index is not the subtask it names, and delegated subtasks the run does not accept', () => {
    const { state, applied } = replayed([
      { type: 'run-started', at: 1 },
      { type: 'subtask-started', index: 1, subtaskId: 'a', attempt: 1, agentId: 'x', at: 2 },
      { type: 'subtask-started', index: 7, subtaskId: 'zz', attempt: 1, agentId: 'x', at: 2 },
      { type: 'subtasks-added', subtasks: [], at: 3 },
    ]);
    expect(applied.map((e) => e.type)).toEqual(['run-started']);
    expect(state.subtasks.map((s) => s.status)).toEqual(['pending', 'pending', 'pending']);
  });

  it('drops an attempt that is not a positive whole number, and a reservation that is not a whole number', () => {
    const bad = [0, -1, 1.5, '2', null, Number.NaN];
    const { state, applied } = replayed([
      { type: 'run-started', at: 1 },
      ...bad.map((attempt) => ({ type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt, outputs: {}, at: 2 }) as unknown as RunEvent),
      ...[1.5, '9', Number.POSITIVE_INFINITY].map((upTo) => ({ type: 'attempts-reserved', upTo, at: 3 }) as unknown as RunEvent),
      { type: 'subtask-succeeded', index: 1, subtaskId: 'b', attempt: 1, outputs: {}, agentId: 7, startedAt: 'x', at: 4 } as unknown as RunEvent,
    ]);
    expect(state.subtasks[0]!.status).toBe('pending');
    expect(state.reservedAttempts).toBe(0);
    // A success's agent and start of the wrong kinds are not taken.
    expect(state.subtasks[1]).toMatchObject({ status: 'succeeded', agentId: undefined, startedAt: undefined });
    expect(applied.filter((e) => e.type === 'subtask-succeeded')).toHaveLength(1);
  });

  it("a run stopped by a cancel resumes as if killed: its end and its cancellations are not replayed", () => {
    const { state } = replayed([
      { type: 'run-started', at: 1 },
      { type: 'subtask-started', index: 0, subtaskId: 'a', attempt: 1, agentId: 'x', at: 2 },
      { type: 'subtask-cancelled', index: 0, subtaskId: 'a', error: cancelled, at: 3 },
      { type: 'subtask-cancelled', index: 1, subtaskId: 'b', error: cancelled, at: 3 },
      { type: 'run-ended', status: 'cancelled', error: cancelled, at: 4 },
    ]);
    expect(state.subtasks.map((s) => s.status)).toEqual(['running', 'pending', 'pending']);
  });
});

describe('resumePoint', () => {
  it('requeues what was in flight (its next attempt follows) and returns what has all its inputs', () => {
    const { state } = replayed([
      { type: 'run-started', at: 1 },
      { type: 'subtask-started', index: 0, subtaskId: 'a', attempt: 1, agentId: 'x', at: 2 },
      { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 1, outputs: {}, at: 3 },
      { type: 'subtask-started', index: 1, subtaskId: 'b', attempt: 1, agentId: 'x', at: 4 },
    ]);
    const recorded: RunEvent[] = [];
    // c waits for b; b for a.
    const ready = resumePoint(state, [[], [0], [1]], (e) => (recorded.push(e), applyEvent(state, e)));
    expect(recorded).toMatchObject([{ type: 'subtask-requeued', index: 1, attempt: 1, reason: 'resumed' }]);
    expect(ready).toEqual([1]);
    expect(state.subtasks[1]).toMatchObject({ status: 'pending', attempts: 1 });
  });
});

describe('msLeft', () => {
  const subtask = { executionConstraints: { maxDuration: 1000 } } as Parameters<typeof msLeft>[0];
  const spec = { resourceLimits: { maxExecutionTimeMs: 5000 } } as Parameters<typeof msLeft>[1];
  it('is the deadline (maxDuration scaled by its extensions, within maxExecutionTimeMs) less the time spent', () => {
    expect(msLeft(subtask, spec, { deadlineFactor: 1, startedAt: 100 }, 400)).toBe(700);
    expect(msLeft(subtask, spec, { deadlineFactor: 2, startedAt: 100 }, 400)).toBe(1700);
    expect(msLeft(subtask, { resourceLimits: { maxExecutionTimeMs: 500 } } as typeof spec, { deadlineFactor: 1, startedAt: undefined }, 400)).toBe(500);
  });
});

describe('a success whose start is not in the journal', () => {
  it('is replayed as its dispatch and the success, with the agent and start the success names', () => {
    const { state, applied } = replayed([
      { type: 'run-started', at: 1 },
      { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 1, outputs: { o: 1 }, at: 9, agentId: 'agent-7', startedAt: 4 } as RunEvent,
    ]);
    expect(applied.map((e) => e.type)).toEqual(['run-started', 'subtask-dispatched', 'subtask-succeeded']);
    expect(state.subtasks[0]).toMatchObject({ status: 'succeeded', agentId: 'agent-7', startedAt: 4, endedAt: 9, attempts: 1, tries: 1, outputs: { o: 1 } });
  });
});
