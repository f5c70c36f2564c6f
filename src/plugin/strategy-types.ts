/**
 * The strategy plugin interface: a small, pure decision maker. It runs in the coordinator and
 * never touches processes: `plan` lays subtasks out on agent lanes for the distribution plan,
 * and a `Scheduler` decides, while a run executes, how many subtasks may run at once and which
 * ready subtask starts next.
 */

/** One subtask as a strategy sees it. */
export interface StrategySubtask {
  readonly id: string;
  /** Expected run time, ms (from the task file; default 1000). */
  readonly estimatedDuration: number;
  /** Security profile of the agent it needs: subtasks of different profiles never share a lane. */
  readonly profile: string;
}

/** The DAG a strategy plans over. Indices refer to `subtasks`. */
export interface PlanInput {
  readonly subtasks: readonly StrategySubtask[];
  /** preds[i]: the subtasks i waits for. */
  readonly preds: readonly (readonly number[])[];
  /** succs[i]: the subtasks waiting for i. */
  readonly succs: readonly (readonly number[])[];
  /** A topological order of all indices. */
  readonly order: readonly number[];
  readonly maxConcurrentAgents: number;
}

/**
 * Agent lanes: each lane is one agent slot and lists, in run order, the subtask indices it runs.
 * Every subtask appears in exactly one lane; a lane holds one profile only.
 */
export type Lanes = readonly (readonly number[])[];

/** A subtask whose inputs all exist. */
export interface ReadySubtask {
  readonly index: number;
  readonly id: string;
  /** Position in the topological order. */
  readonly rank: number;
  /** Longest chain of estimated durations from this subtask to the end, itself included (ms). */
  readonly bottomLevel: number;
  /** Depth in the DAG: 0 for subtasks with no predecessors. */
  readonly level: number;
  readonly estimatedDuration: number;
}

/** What the scheduler knows of the run right now. */
export interface SchedulerState {
  readonly running: number;
  readonly completed: number;
  readonly failed: number;
  readonly total: number;
  /** Lowest DAG level that still has subtasks not finished (for level-by-level strategies). */
  readonly lowestOpenLevel: number;
  /** Memory the run's agents use (RSS, MB) and the budget they must stay under. */
  readonly memory: { readonly usedMB: number; readonly budgetMB: number; readonly perAgentMB: number };
  /** CPU of the run's agents over the last monitor window, percent of one core, and the cores there are. */
  readonly cpu: { readonly percent: number; readonly cores: number };
  /** Duration of recently finished subtasks relative to their estimate (1 = as estimated), if any finished. */
  readonly latencyRatio: number | undefined;
}

/** Decides concurrency and order while a run executes. */
export interface Scheduler {
  /** How many subtasks may run at once right now (≥ 1; the engine also caps it at maxConcurrentAgents and the budget). */
  concurrency(state: SchedulerState): number;
  /** Index into `ready` of the subtask to start next, or -1 to start none now. */
  pick(ready: readonly ReadySubtask[], state: SchedulerState): number;
  /**
   * Optional fast path, for a scheduler whose `pick` is "the first ready subtask by a fixed order,
   * if `startable` accepts it": the engine then keeps the ready subtasks ordered (a heap, O(log n)
   * per dispatch) and calls neither `pick` nor anything per ready subtask. `pick` must choose the
   * same subtask (it is still used where no order is declared).
   */
  readonly order?: ReadyOrder;
  /** A subtask ended. */
  onSubtaskEnd?(event: { readonly index: number; readonly ok: boolean; readonly durationMs: number }, state: SchedulerState): void;
  /** A usage sample arrived (every monitor poll while the run is going). */
  onSample?(state: SchedulerState): void;
  /** Why concurrency is what it is (for events and logs), e.g. "memory pressure 91%: halved to 2". */
  explain?(): string;
}

/** A fixed order on ready subtasks (see `Scheduler.order`). */
export interface ReadyOrder {
  /** Strict order: true when `a` starts before `b`. */
  before(a: ReadySubtask, b: ReadySubtask): boolean;
  /** Whether the first ready subtask by `before` may start now (default: always). */
  startable?(first: ReadySubtask, state: SchedulerState): boolean;
}

/** A strategy plugin. */
export interface StrategyPlugin {
  readonly name: string;
  readonly kind: 'strategy';
  readonly description?: string;
  plan(input: PlanInput): Lanes;
  createScheduler(input: PlanInput): Scheduler;
}
