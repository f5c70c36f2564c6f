import type { QiError } from '@qi/base';
/**
 * Subtasks waiting for budget to start a new agent. An agent of the same profile that turns
 * idle meanwhile is handed to the first of them instead, so no subtask waits for room while an
 * agent that fits stands idle (and none is retired to make room for an identical one).
 * @module
 */

/** A subtask waiting for budget for a new agent of `profile`. */
export interface BudgetWait<A> {
  readonly memoryMB: number;
  readonly profile: string;
  readonly lane: number;
  /** Ends this wait alone (its own signal: waits never pile listeners on one signal). */
  readonly controller: AbortController;
  /** Why the wait was ended, when not by a cancel. */
  error?: QiError | undefined;
  /** The idle agent it was given instead of a new one. */
  handedOver: A | undefined;
}

/** The first open wait for `profile`, if any. */
export function waitFor<A>(waits: Iterable<BudgetWait<A>>, profile: string): BudgetWait<A> | undefined {
  for (const wait of waits) {
    if (wait.profile === profile && wait.handedOver === undefined && !wait.controller.signal.aborted) return wait;
  }
  return undefined;
}

/** Gives `agent` to the wait and ends the wait's budget request. */
export function handOver<A>(wait: BudgetWait<A>, agent: A): void {
  wait.handedOver = agent;
  wait.controller.abort();
}
