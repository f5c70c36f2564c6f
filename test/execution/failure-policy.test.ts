/**
 * The failure policy, with no processes: each failure strategy, the plan's fallback figures as
 * the one source of retries and deadline extensions, and the subtree a failure skips.
 */
import { describe, expect, it } from 'vitest';
import { planFallback } from '../../src/distribution/plans.js';
import { qiError } from '../../src/errors/catalogue.js';
import { cancelledError, decideOnFailure, failurePolicyOf, pendingSubtree, skippedError, stalledError, unreachableError, type FailurePolicy } from '../../src/execution/failure-policy.js';
import { applyEvent, initialRunState } from '../../src/execution/reducer.js';
import type { SubtaskState } from '../../src/execution/run-events.js';
import { CoordinationStrategy } from '../../src/schemas/strategy.js';

type Handling = 'fail-fast' | 'graceful-degradation' | 'retry-cascade';
const policyFor = (failureHandling: Handling): FailurePolicy => {
  const strategy = CoordinationStrategy.parse({ type: 'hybrid', maxConcurrentAgents: 2, failureHandling, communicationProtocol: 'direct', synchronizationPoints: [] });
  return failurePolicyOf({ strategy, fallbackPlan: planFallback(strategy) });
};
const subtask = (over: Partial<SubtaskState> = {}): SubtaskState => ({ ...initialRunState(['s']).subtasks[0]!, status: 'running', attempts: 1, tries: 1, ...over });
const crash = qiError('AGENT_CRASHED', 'exited', {});
const timeout = qiError('TIME_LIMIT', 'late', {});
const denied = qiError('TOOL_DENIED', 'no', {});

describe('failurePolicyOf', () => {
  it('reads every figure from the plan: no retry action, no retries; fail-fast plans no fallback at all', () => {
    expect(policyFor('retry-cascade')).toEqual({ handling: 'retry-cascade', triggers: ['agent-failure', 'timeout', 'resource-exhaustion'], retry: { maxAttempts: 3, baseDelayMs: 100 }, extendDeadline: { maxExtensions: 1, factor: 1.5 } });
    expect(policyFor('graceful-degradation').retry).toBeUndefined();
    expect(policyFor('fail-fast')).toEqual({ handling: 'fail-fast', triggers: ['agent-failure', 'timeout', 'resource-exhaustion'], retry: undefined, extendDeadline: undefined });
  });

  it('an edited plan changes the figures', () => {
    const strategy = CoordinationStrategy.parse({ type: 'hybrid', maxConcurrentAgents: 2, failureHandling: 'retry-cascade', communicationProtocol: 'direct', synchronizationPoints: [] });
    const fallbackPlan = { ...planFallback(strategy), actions: [{ condition: 'retryable-failure', action: 'retry-on-fresh-agent', parameters: { maxAttempts: 5, baseDelayMs: 7 } }] };
    expect(failurePolicyOf({ strategy, fallbackPlan })).toMatchObject({ retry: { maxAttempts: 5, baseDelayMs: 7 }, extendDeadline: undefined });
  });
});

describe('the plan\'s triggers and conditions', () => {
  const strategy = CoordinationStrategy.parse({ type: 'hybrid', maxConcurrentAgents: 2, failureHandling: 'retry-cascade', communicationProtocol: 'direct', synchronizationPoints: [] });
  const plan = planFallback(strategy);

  it('a failure whose kind the triggers do not name fails its subtask at once', () => {
    const noTimeouts = failurePolicyOf({ strategy, fallbackPlan: { ...plan, triggers: ['agent-failure', 'resource-exhaustion'] } });
    expect(decideOnFailure(noTimeouts, 0, subtask(), timeout, false).map((c) => c.type)).toEqual(['fail-subtask', 'skip-subtree', 'dispatch']);
    expect(decideOnFailure(noTimeouts, 0, subtask(), crash, false)[0]).toMatchObject({ type: 'retry' });
    const onlyTimeouts = failurePolicyOf({ strategy, fallbackPlan: { ...plan, triggers: ['timeout'] } });
    expect(decideOnFailure(onlyTimeouts, 0, subtask(), crash, false)[0]).toMatchObject({ type: 'fail-subtask' });
    expect(decideOnFailure(onlyTimeouts, 0, subtask(), qiError('MEMORY_LIMIT', 'big', {}), false)[0]).toMatchObject({ type: 'fail-subtask' });
    expect(decideOnFailure(onlyTimeouts, 0, subtask(), timeout, false)[0]).toMatchObject({ type: 'extend-deadline' });
  });

  it('an action under a condition the policy does not evaluate for it is never carried out', () => {
    const odd = failurePolicyOf({ strategy, fallbackPlan: { ...plan, actions: plan.actions.map((a) => ({ ...a, condition: 'always' })) } });
    expect(odd).toMatchObject({ retry: undefined, extendDeadline: undefined });
    expect(decideOnFailure(odd, 0, subtask(), crash, false)[0]).toMatchObject({ type: 'fail-subtask' });
  });
});

describe('decideOnFailure', () => {
  it('fail-fast: fails the subtask, then the run with CANCELLED naming it', () => {
    const commands = decideOnFailure(policyFor('fail-fast'), 0, subtask(), crash, false);
    expect(commands.map((c) => c.type)).toEqual(['fail-subtask', 'fail-run']);
    expect(commands[1]).toMatchObject({ error: { code: 'CANCELLED', context: { cause: 'AGENT_CRASHED', subtaskId: 's' } } });
  });

  it('graceful-degradation: fails the subtask, skips its subtree, dispatches on', () => {
    expect(decideOnFailure(policyFor('graceful-degradation'), 4, subtask(), crash, false)).toEqual([
      { type: 'fail-subtask', index: 4, error: crash },
      { type: 'skip-subtree', index: 4 },
      { type: 'dispatch' },
    ]);
  });

  it('retry-cascade: linear backoff for SYSTEM, exponential for TIMEOUT, never for AUTHORIZATION, at most maxAttempts', () => {
    const p = policyFor('retry-cascade');
    expect(decideOnFailure(p, 0, subtask({ attempts: 1, tries: 1 }), crash, false)[0]).toEqual({ type: 'retry', index: 0, delayMs: 100, reason: 'AGENT_CRASHED (linear_backoff)', error: crash });
    expect(decideOnFailure(p, 0, subtask({ attempts: 2, tries: 2 }), crash, false)[0]).toMatchObject({ type: 'retry', delayMs: 200 });
    expect(decideOnFailure(p, 0, subtask({ attempts: 3, tries: 3 }), crash, false)[0]).toMatchObject({ type: 'fail-subtask' });
    const late = subtask({ attempts: 2, tries: 2, extensions: 1 });
    expect(decideOnFailure(p, 0, late, timeout, false)[0]).toMatchObject({ type: 'retry', delayMs: 200, reason: 'TIME_LIMIT (exponential_backoff)' });
    expect(decideOnFailure(p, 0, subtask(), denied, false).map((c) => c.type)).toEqual(['fail-subtask', 'skip-subtree', 'dispatch']);
  });

  it('the retry budget counts tries, not attempt numbers (a resumed subtask numbers its attempts above the earlier run)', () => {
    const p = policyFor('retry-cascade');
    expect(decideOnFailure(p, 0, subtask({ attempts: 7, tries: 1 }), crash, false)[0]).toMatchObject({ type: 'retry', delayMs: 100 });
    expect(decideOnFailure(p, 0, subtask({ attempts: 9, tries: 3 }), crash, false)[0]).toMatchObject({ type: 'fail-subtask' });
  });

  it('a TIME_LIMIT with an extension left extends the deadline and retries at once, under any strategy but fail-fast', () => {
    for (const h of ['graceful-degradation', 'retry-cascade'] as const) {
      expect(decideOnFailure(policyFor(h), 2, subtask(), timeout, false)).toEqual([
        { type: 'extend-deadline', index: 2, factor: 1.5 },
        { type: 'retry', index: 2, delayMs: 0, reason: 'deadline extended', error: timeout },
        { type: 'dispatch' },
      ]);
    }
    expect(decideOnFailure(policyFor('graceful-degradation'), 2, subtask({ extensions: 1 }), timeout, false)[0]).toMatchObject({ type: 'fail-subtask' });
    expect(decideOnFailure(policyFor('fail-fast'), 2, subtask(), timeout, false)[0]).toMatchObject({ type: 'fail-subtask' });
  });

  it('while the run is being cancelled, a failure is the cancellation', () => {
    expect(decideOnFailure(policyFor('retry-cascade'), 1, subtask(), crash, true)).toEqual([{ type: 'cancel-subtask', index: 1, error: crash }, { type: 'dispatch' }]);
  });
});

describe('pendingSubtree', () => {
  it('returns each pending descendant once, past diamonds, and not what already ended', () => {
    // 0 → 1 → 3, 0 → 2 → 3, 3 → 4; 2 already succeeded.
    const succs = [[1, 2], [3], [3], [4], []];
    const state = initialRunState(['a', 'b', 'c', 'd', 'e']);
    applyEvent(state, { type: 'subtask-dispatched', index: 2, subtaskId: 'c', attempt: 1, at: 0 });
    applyEvent(state, { type: 'subtask-succeeded', index: 2, subtaskId: 'c', attempt: 1, outputs: {}, at: 0 });
    expect(pendingSubtree(state, succs, 0).sort()).toEqual([1, 3, 4]);
    expect(pendingSubtree(state, succs, 4)).toEqual([]);
  });

  it('names the upstream in the SKIPPED error, the cause in CANCELLED, the strategy in a stall', () => {
    expect(skippedError('b', 'a')).toMatchObject({ code: 'SKIPPED', category: 'BUSINESS', context: { upstream: 'a' } });
    expect(unreachableError('b')).toMatchObject({ code: 'SKIPPED', message: expect.stringContaining("'b'") });
    expect(cancelledError('b', qiError('TIME_LIMIT', 'late', {}))).toMatchObject({ code: 'CANCELLED', category: 'SYSTEM', context: { subtaskId: 'b', cause: 'TIME_LIMIT' } });
    expect(stalledError('mine', 3)).toMatchObject({ code: 'PLUGIN_INVALID', context: { strategy: 'mine' }, message: expect.stringContaining('3 ready') });
  });
});
