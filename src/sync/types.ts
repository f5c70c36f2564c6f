/**
 * Public types of the synchronization hub: reducers, decision rules, events, options and outcomes.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import type { SynchronizationPoint } from '../schemas/strategy.js';

/**
 * Folds an aggregation point's values into one. `values` come in participant order (the order
 * `participatingAgents` lists them, `allSubtasks` order for `'*'`), never arrival order.
 * Must be synchronous; a throw fails the point with `AGENT_ERROR`.
 */
export type Reducer = (values: readonly unknown[]) => unknown;

/**
 * Picks a decision point's value from its proposals (in arrival order). A failure fails the
 * point for every participant; the hub prefixes its message with the point id.
 */
export type DecisionRule = (proposals: readonly unknown[]) => Result<unknown, QiError>;

/** Something that happened at a synchronization point, for progress and traces. */
export interface SyncEvent {
  readonly type: 'sync-arrive' | 'sync-release' | 'sync-timeout' | 'sync-fail';
  readonly pointId: string;
  /** The arrival this event is about; absent on point-level events (timer fired, settled with nobody waiting). */
  readonly subtaskId?: string;
  readonly agentId?: string;
  /** On 'sync-release' / 'sync-fail' for an arrival: how long it waited, in ms. */
  readonly waitedMs?: number;
  /** Participants the condition counts as arrived so far. */
  readonly arrived?: number;
  /** Participants the condition still counts (departed ones excluded). */
  readonly expected?: number;
  readonly at: number;
}

/** What a {@link SyncHub} is built from. */
export interface SyncHubOptions {
  readonly points: readonly SynchronizationPoint[];
  /** Every subtask id of the run, in task order; `'*'` expands to these. */
  readonly allSubtasks: readonly string[];
  readonly failureHandling: 'fail-fast' | 'graceful-degradation' | 'retry-cascade';
  /** The run's directory; checkpoints go to `<dir>/checkpoints/<subtaskId>.json`. */
  readonly checkpointDir: string;
  /** Plugin reducers by name; built-ins (`sum`, `concat`, `merge`) take precedence. */
  readonly reducers?: ReadonlyMap<string, Reducer>;
  /** Plugin decision rules by name; built-ins (`majority`, `unanimous`, `first`) take precedence. */
  readonly rules?: ReadonlyMap<string, DecisionRule>;
  readonly onEvent?: (e: SyncEvent) => void;
  /** Clock for timestamps and `waitedMs` (tests); timers always use real `setTimeout`. */
  readonly now?: () => number;
}

/**
 * How a point ended: `released` (condition met, or timer with `proceed` / a `timeout` condition),
 * `failed` (reducer/rule failure, invalid point, fail-fast departure), `timed-out`
 * (`onTimeout: 'fail'`), `cancelled` (hub closed first).
 */
export type PointStatus = 'released' | 'failed' | 'timed-out' | 'cancelled';

/** The one-shot outcome of a point: every arrival, early or late, resolves with `result`. */
export interface PointOutcome {
  readonly pointId: string;
  readonly status: PointStatus;
  readonly result: Result<unknown, QiError>;
  /** Subtask ids that arrived before it settled, in arrival order. */
  readonly arrived: readonly string[];
  /** True when the point's timer fired before it settled. */
  readonly timedOut: boolean;
  readonly at: number;
}

/** Totals over a hub's life; `waitMs` is the summed time participants spent waiting. */
export interface SyncSummary {
  readonly pointsReached: number;
  readonly pointsFailed: number;
  readonly arrivals: number;
  readonly waitMs: number;
}
