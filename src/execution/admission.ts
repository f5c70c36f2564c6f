import type { QiError } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { LiveAgent } from './run-agents.js';

/** What the admission check reads of a run. */
export interface AdmissionView {
  /** The agents the run holds. */
  readonly agents: Iterable<LiveAgent>;
  /** Subtasks holding a slot: their agent, or null while they wait for one. */
  readonly running: ReadonlyMap<number, LiveAgent | null>;
  /** Whether subtask `i` waits: for its delegated children, or at a sync point. */
  waiting(i: number): boolean;
  /** Whether subtask `i` waits for budget for a new agent. */
  waitsForBudget(i: number): boolean;
}

/**
 * True when subtasks wait for budget that nothing will ever give back: every agent the run holds
 * is busy, not retiring, and running a subtask that itself waits (for children or at a sync
 * point), and every subtask without an agent waits for budget (none is being started).
 */
export function admissionStuck(view: AdmissionView): boolean {
  let waitingForBudget = 0;
  for (const a of view.agents) if (!a.busy || a.retiring) return false;
  for (const [i, live] of view.running) {
    if (live === null) {
      if (!view.waitsForBudget(i)) return false;
      waitingForBudget++;
    } else if (!view.waiting(i)) return false;
  }
  return waitingForBudget > 0;
}

/** Why the children waiting for budget fail: nothing will give budget back while their parents wait. */
export function admissionError(budget: { readonly maxTotalMemory: number; readonly maxConcurrentAllocations: number }, waitingParents: readonly string[]): QiError {
  return qiError(
    'DELEGATION_LIMIT',
    `no agent can start for a delegated subtask: every running agent waits for its children, and the memory budget (resources.maxTotalMemory ${budget.maxTotalMemory} MB, ${budget.maxConcurrentAllocations} allocations) holds no more`,
    { waitingParents, maxTotalMemory: budget.maxTotalMemory },
  );
}
