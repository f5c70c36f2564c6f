/**
 * The run's reducer: the one writer of a run's state. Every transition, the refusal of stale
 * events, counts kept in step, and a replay of the JSON-serialized events rebuilding the same state.
 */
import type { DelegatedSubtask } from '../../src/execution/delegation.js';
import { describe, expect, it } from 'vitest';
import { qiError } from '../../src/errors/catalogue.js';
import { applyEvent, initialRunState } from '../../src/execution/reducer.js';
import type { RunEvent, RunState } from '../../src/execution/run-events.js';

const err = qiError('AGENT_CRASHED', 'gone', {});
const at = 1_700_000_000_000;

function play(state: RunState, events: readonly RunEvent[]): boolean[] {
  return events.map((e) => applyEvent(state, e));
}

describe('applyEvent', () => {
  it('starts every subtask pending, counted', () => {
    const s = initialRunState(['a', 'b']);
    expect(s.subtasks.map((t) => t.status)).toEqual(['pending', 'pending']);
    expect(s.counts).toEqual({ pending: 2, running: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 });
  });

  it('takes an attempt from dispatch to success: attempt, agent, times, outputs, usage', () => {
    const s = initialRunState(['a']);
    const usage = { memoryMB: 40, executionTimeMs: 5, toolCalls: 1, networkRequests: 0, fileOperations: 0 };
    expect(
      play(s, [
        { type: 'run-started', at },
        { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 1, at },
        { type: 'subtask-started', index: 0, subtaskId: 'a', attempt: 1, agentId: 'ag1', at: at + 1 },
        { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 1, outputs: { n: 3 }, usage, at: at + 9 },
      ]),
    ).toEqual([true, true, true, true]);
    expect(s.subtasks[0]).toMatchObject({ status: 'succeeded', attempts: 1, agentId: 'ag1', startedAt: at + 1, endedAt: at + 9, outputs: { n: 3 }, usage });
    expect(s.startedAt).toBe(at);
    expect(s.counts.succeeded).toBe(1);
    expect(s.counts.pending + s.counts.running).toBe(0);
  });

  it('requeues a failed attempt as pending with its error; a later success clears the error', () => {
    const s = initialRunState(['a']);
    play(s, [
      { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 1, at },
      { type: 'subtask-requeued', index: 0, subtaskId: 'a', attempt: 1, error: err, delayMs: 100, reason: 'x', at },
    ]);
    expect(s.subtasks[0]).toMatchObject({ status: 'pending', attempts: 1, error: err });
    play(s, [
      { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 2, at },
      { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 2, outputs: {}, at },
    ]);
    expect(s.subtasks[0]).toMatchObject({ status: 'succeeded', attempts: 2, error: undefined });
  });

  it('reserves attempt numbers only upwards, and counts a try per dispatch whatever its number', () => {
    const s = initialRunState(['a']);
    expect(play(s, [{ type: 'attempts-reserved', upTo: 3, at }, { type: 'attempts-reserved', upTo: 2, at }, { type: 'attempts-reserved', upTo: 3, at }])).toEqual([true, false, false]);
    expect(s.reservedAttempts).toBe(3);
    play(s, [
      { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 4, at },
      { type: 'subtask-requeued', index: 0, subtaskId: 'a', attempt: 4, error: err, delayMs: 0, reason: 'retry', agentId: 'x', startedAt: at + 1, at: at + 2 },
      { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 5, at },
    ]);
    expect(s.subtasks[0]).toMatchObject({ attempts: 5, tries: 2, agentId: 'x', startedAt: at + 1 });
  });

  it('a terminal status is final: later events for that subtask change nothing', () => {
    const s = initialRunState(['a']);
    play(s, [
      { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 1, at },
      { type: 'subtask-cancelled', index: 0, subtaskId: 'a', at },
    ]);
    expect(applyEvent(s, { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 1, outputs: { late: true }, at })).toBe(false);
    expect(applyEvent(s, { type: 'subtask-failed', index: 0, subtaskId: 'a', attempt: 1, error: err, at })).toBe(false);
    expect(s.subtasks[0]).toMatchObject({ status: 'cancelled', outputs: undefined });
    expect(s.counts).toMatchObject({ cancelled: 1, running: 0, succeeded: 0 });
  });

  it('refuses transitions that do not fit: start of a pending subtask, dispatch of a running one, unknown index', () => {
    const s = initialRunState(['a']);
    expect(applyEvent(s, { type: 'subtask-started', index: 0, subtaskId: 'a', attempt: 1, agentId: 'x', at })).toBe(false);
    expect(applyEvent(s, { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 1, at })).toBe(true);
    expect(applyEvent(s, { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 2, at })).toBe(false);
    expect(applyEvent(s, { type: 'subtask-skipped', index: 7, subtaskId: 'zz', error: err, at })).toBe(false);
    expect(s.subtasks[0]!.attempts).toBe(1);
  });

  it('records failures, skips, sync outcomes, fallbacks (extend-deadline scales the deadline), added subtasks and the end once', () => {
    const s = initialRunState(['a', 'b']);
    play(s, [
      { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 1, at },
      { type: 'fallback-applied', action: 'extend-deadline', detail: { index: 0, subtaskId: 'a', factor: 1.5 }, at },
      { type: 'subtask-failed', index: 0, subtaskId: 'a', attempt: 1, error: err, at: at + 3 },
      { type: 'subtask-skipped', index: 1, subtaskId: 'b', error: qiError('SKIPPED', 'b skipped', { upstream: 'a' }), at: at + 3 },
      { type: 'sync-released', pointId: 'p', outcome: { sum: 3 }, at },
      // The reducer reads only the ids of delegated subtasks (the plan holds the rest).
      { type: 'subtasks-added', subtasks: [{ id: 'c' } as DelegatedSubtask], at },
      { type: 'run-ended', status: 'failed', error: err, at: at + 4 },
    ]);
    expect(s.subtasks.map((t) => t.status)).toEqual(['failed', 'skipped', 'pending']);
    expect(s.subtasks[0]).toMatchObject({ extensions: 1, deadlineFactor: 1.5, error: err, endedAt: at + 3 });
    expect(s.subtasks[1]!.error?.code).toBe('SKIPPED');
    expect(s.syncOutcomes).toEqual({ p: { sum: 3 } });
    expect(s.fallbacks).toEqual([{ action: 'extend-deadline', detail: { index: 0, subtaskId: 'a', factor: 1.5 } }]);
    expect(s.counts).toEqual({ pending: 1, running: 0, succeeded: 0, failed: 1, skipped: 1, cancelled: 0 });
    expect(s.ended).toEqual({ status: 'failed', error: err, at: at + 4 });
    expect(applyEvent(s, { type: 'run-ended', status: 'completed', at })).toBe(false);
  });

  it('replaying the events from JSONL rebuilds the same state (what a journal needs)', () => {
    const events: RunEvent[] = [
      { type: 'run-started', at },
      { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 1, at },
      { type: 'subtask-started', index: 0, subtaskId: 'a', attempt: 1, agentId: 'ag1', at },
      { type: 'subtask-requeued', index: 0, subtaskId: 'a', attempt: 1, error: err, delayMs: 100, reason: 'AGENT_CRASHED (linear)', at },
      { type: 'subtask-dispatched', index: 0, subtaskId: 'a', attempt: 2, at },
      { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 2, outputs: { v: [1, 'x', null] }, at },
      { type: 'sync-released', pointId: 'p', outcome: [1, 2], at },
      { type: 'subtask-dispatched', index: 1, subtaskId: 'b', attempt: 1, at },
      { type: 'subtask-cancelled', index: 1, subtaskId: 'b', error: qiError('CANCELLED', 'stop'), at },
      { type: 'run-ended', status: 'cancelled', at },
    ];
    const live = initialRunState(['a', 'b']);
    play(live, events);
    const jsonl = events.map((e) => JSON.stringify(e)).join('\n');
    const replayed = initialRunState(['a', 'b']);
    play(replayed, jsonl.split('\n').map((line) => JSON.parse(line) as RunEvent));
    expect(JSON.parse(JSON.stringify(replayed))).toEqual(JSON.parse(JSON.stringify(live)));
    expect(replayed.subtasks[0]).toMatchObject({ status: 'succeeded', attempts: 2, outputs: { v: [1, 'x', null] } });
  });
});
