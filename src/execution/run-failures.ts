import type { QiError } from '@qi/base';
import { decideOnFailure, pendingSubtree, skippedError, type FailurePolicy, type RunCommand } from './failure-policy.js';
import type { RunEvent, RunState, SubtaskState } from './run-events.js';

/** What carrying out a failure decision needs of its run. */
export interface FailureHost {
  readonly state: RunState;
  readonly policy: FailurePolicy;
  /** Each subtask's dependents (a skipped subtree is found through them). */
  readonly succs: readonly (readonly number[])[];
  idOf(i: number): string;
  /** Applies an event to the run (and journals it). */
  record(event: RunEvent): boolean;
  /** Starts what the scheduler allows. */
  pump(): void;
  /** Subtask `i` is ready again (a retry's delay is over). */
  ready(i: number): void;
  /** Stops the whole run with this error. */
  cancelRun(error: QiError): void;
  /** The run's cancel reason, once it is cancelled. */
  cancelled(): QiError | undefined;
  /** A delegated subtask's failure is its parent's (ctx.delegate rejects), never the run's. */
  delegated(i: number): boolean;
  /** The first failure of a planned subtask is the run's error. */
  noteFailure(error: QiError): void;
}

/**
 * After an attempt failed: the pure failure policy decides (failure-policy.ts), and this carries
 * its commands out on the run — a retry after its delay, a deadline extension, the subtask's or
 * the run's failure, a skipped subtree. It owns the retry timers, so a run can tell whether a
 * retry is still to come.
 */
export class RunFailures {
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly host: FailureHost) {}

  /** Retries waiting for their delay. */
  get waiting(): number {
    return this.retryTimers.size;
  }

  /** An attempt of subtask `i` failed with `error`. */
  onFailure(i: number, error: QiError, usage?: SubtaskState['usage']): void {
    const { host } = this;
    const s = host.state.subtasks[i]!;
    const delegated = host.delegated(i);
    for (const command of decideOnFailure(host.policy, i, s, error, host.cancelled() !== undefined)) {
      // A delegated subtask's failure goes to its parent (ctx.delegate rejects), which decides: not to the run.
      if (delegated && command.type === 'fail-run') continue;
      this.carryOut(command, usage, delegated);
    }
  }

  /** Drops the retries still waiting (the run was cancelled). */
  clear(): void {
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
  }

  private carryOut(c: RunCommand, usage: SubtaskState['usage'], delegated: boolean): void {
    const { host } = this;
    const at = Date.now();
    const s = 'index' in c ? host.state.subtasks[c.index]! : undefined;
    switch (c.type) {
      case 'dispatch':
        return host.pump();
      case 'extend-deadline':
        host.record({ type: 'fallback-applied', action: 'extend-deadline', detail: { subtaskId: s!.id, index: c.index, factor: c.factor, agentId: s!.agentId }, at });
        return;
      case 'retry':
        host.record({ type: 'subtask-requeued', index: c.index, subtaskId: s!.id, attempt: s!.attempts, error: c.error, delayMs: c.delayMs, reason: c.reason, usage, agentId: s!.agentId, startedAt: s!.startedAt, at });
        return this.retryAfter(c.index, c.delayMs);
      case 'fail-subtask':
        if (!delegated) host.noteFailure(c.error);
        host.record({ type: 'subtask-failed', index: c.index, subtaskId: s!.id, attempt: s!.attempts, error: c.error, usage, agentId: s!.agentId, startedAt: s!.startedAt, at });
        return;
      case 'cancel-subtask':
        host.record({ type: 'subtask-cancelled', index: c.index, subtaskId: s!.id, error: c.error, at });
        return;
      case 'skip-subtree':
        for (const d of pendingSubtree(host.state, host.succs, c.index)) host.record({ type: 'subtask-skipped', index: d, subtaskId: host.idOf(d), error: skippedError(host.idOf(d), s!.id), at });
        return;
      case 'fail-run':
        return host.cancelRun(c.error);
    }
  }

  private retryAfter(i: number, delayMs: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.host.cancelled() !== undefined || this.host.state.subtasks[i]!.status !== 'pending') return;
      this.host.ready(i);
      this.host.pump();
    }, delayMs);
    this.retryTimers.add(timer);
  }
}
