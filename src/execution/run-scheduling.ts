import os from 'node:os';
import type { SubtaskStatus } from '../events/types.js';
import type { ReadySubtask, Scheduler, SchedulerState } from '../plugin/strategy-types.js';
import { concurrencyCap, withReason } from './concurrency.js';
import { DagProgress, grow } from './dag-progress.js';
import { ReadyQueue } from './ready-queue.js';
import type { RunDeps } from './run-deps.js';
import type { RunEvent, RunState } from './run-events.js';
import type { LiveAgent } from './run-agents.js';
import type { RunPlan } from './run-plan.js';

/** What scheduling reads of the run loop, each time it decides. */
export interface RunLoad {
  /** Subtasks holding a concurrency slot (not counting those waiting at a sync point, or sent ahead to an agent behind another). */
  readonly running: number;
  /**
   * How many more subtasks the run's agents could take ahead now (started beyond the
   * concurrency), and whether new work should go only to their queues (no free slot is used).
   */
  readonly ahead: () => { readonly room: number; readonly saturated: boolean };
  /** Whether subtask `i` could start without a slot now (an agent of its profile has room ahead of it, or beside its running subtasks). */
  readonly takesAhead: (i: number) => boolean;
  readonly agents: Iterable<LiveAgent>;
  readonly counts: Readonly<Record<SubtaskStatus, number>>;
}

/**
 * Which ready subtask starts next and how many may run at once: the strategy's scheduler over the
 * ready queue, capped by the plan and the resource budget (each change announced as a
 * `concurrency` event). Every figure of the scheduler state is kept as subtasks come and go, so a
 * dispatch costs O(log n) with a built-in strategy (O(agents) for the usage sums).
 */
export class RunScheduling {
  readonly scheduler: Scheduler;
  readonly ready: ReadyQueue;
  readonly dag: DagProgress;
  private progress: Float64Array;
  /** The last five durations relative to their estimate (a ring). */
  private readonly latencies: number[] = [];
  private latencyAt = 0;
  private lastConcurrency = 0;
  /** Cores the host offers (read once: it does not change during a run). */
  private readonly cores = os.availableParallelism();

  constructor(
    private readonly plan: RunPlan,
    private readonly deps: Pick<RunDeps, 'strategy' | 'config' | 'resources' | 'emit' | 'logger'>,
    private readonly load: () => RunLoad,
  ) {
    const n = plan.subtasks.length;
    this.scheduler = deps.strategy.plugin.createScheduler({
      subtasks: plan.subtasks.map((s, i) => ({ id: s.id, estimatedDuration: s.estimatedDuration, profile: plan.profiles[i]! })),
      preds: plan.graph.preds,
      succs: plan.graph.succs,
      order: plan.graph.order,
      maxConcurrentAgents: plan.maxConcurrentAgents,
    });
    const m = plan.metrics;
    const view = (i: number): ReadySubtask => ({ index: i, id: plan.idOf(i), rank: m.rank[i]!, bottomLevel: m.bottomLevel[i]!, level: m.level[i]!, estimatedDuration: plan.subtasks[i]!.estimatedDuration });
    this.ready = new ReadyQueue(this.scheduler, n, view, (i) => plan.memoryOf(i));
    this.dag = new DagProgress(plan);
    this.progress = new Float64Array(n);
  }

  /** Delegated subtasks were appended to the plan (after `plan.add`): room for them, at their parent's level. */
  added(count: number, parent: number): void {
    this.dag.add(count, this.plan.metrics.level[parent]!);
    this.progress = grow(this.progress, this.plan.subtasks.length);
  }

  /**
   * Keeps the ready queue and the DAG bookkeeping in step with an event just applied to `state`;
   * true when the event ended its subtask.
   */
  observe(event: RunEvent, state: RunState): boolean {
    switch (event.type) {
      case 'subtask-succeeded':
        for (const s of this.dag.succeeded(event.index)) if (state.subtasks[s]!.status === 'pending') this.ready.add(s);
        return true;
      case 'subtask-failed':
      case 'subtask-skipped':
      case 'subtask-cancelled':
        this.dag.end(event.index);
        this.ready.delete(event.index);
        return true;
      default:
        return false;
    }
  }

  /**
   * Starts (`start(i)`, each taken off the ready queue first) as many ready subtasks as the
   * concurrency allows and the scheduler picks, and then as many as the run's agents can take
   * ahead (short subtasks: `dispatch.prefetch`). The scheduler state is read once per call and
   * kept current as subtasks start.
   */
  startReady(allowed: boolean, start: (i: number) => void): void {
    if (!allowed || this.ready.size === 0) return;
    let state = this.state();
    const load = this.load();
    const { saturated, room } = load.ahead();
    // Saturated, no free slot is used and the room read now stands; otherwise it is read again
    // once the free slots are used (their subtasks may have filled some of it).
    let ahead: number | undefined = saturated ? room : undefined;
    while (this.ready.size > 0) {
      const slot = !saturated && state.running < this.concurrency(state);
      if (!slot && (ahead ??= load.ahead().room) <= 0) return;
      const i = this.ready.next(state);
      if (i === undefined || (!slot && !load.takesAhead(i))) return;
      this.ready.delete(i);
      start(i);
      if (slot) state = { ...state, running: state.running + 1, memory: { ...state.memory, perAgentMB: Math.max(64, this.ready.maxMemoryMB()) } };
      else ahead!--;
    }
  }

  setProgress(i: number, fraction: number): void {
    if (i >= 0) this.progress[i] = fraction;
  }

  progressOf(i: number): number {
    return this.progress[i] ?? 0;
  }

  /** A usage sample arrived. */
  sample(): void {
    this.scheduler.onSample?.(this.state());
  }

  subtaskEnded(i: number, ok: boolean, durationMs: number): void {
    const estimate = this.plan.subtasks[i]!.estimatedDuration;
    if (ok) {
      this.progress[i] = 1;
      if (estimate > 0) this.latencies[this.latencyAt++ % 5] = durationMs / estimate;
    }
    this.scheduler.onSubtaskEnd?.({ index: i, ok, durationMs }, this.state());
  }

  private state(): SchedulerState {
    const load = this.load();
    let usedMB = 0;
    let cpu = 0;
    for (const a of load.agents) {
      // Memory pressure is the busy agents' RSS: an idle agent is reused by the next subtask of
      // its profile or retired to make room, so the memory it still holds is no reason to run fewer.
      const usage = a.agent.instance.resourceUsage;
      if (a.busy) usedMB += usage.memoryMB;
      cpu += usage.cpuPercent ?? 0;
    }
    const recent = this.latencies;
    return {
      running: load.running,
      completed: load.counts.succeeded,
      failed: load.counts.failed,
      total: this.plan.subtasks.length,
      lowestOpenLevel: this.dag.lowestOpenLevel,
      memory: { usedMB, budgetMB: this.deps.config.resources.maxTotalMemory, perAgentMB: Math.max(64, this.ready.maxMemoryMB()) },
      cpu: { percent: cpu, cores: this.cores },
      latencyRatio: recent.length === 0 ? undefined : recent.reduce((a, b) => a + b, 0) / recent.length,
    };
  }

  /**
   * How many subtasks may run now: the scheduler's wish within the plan's maxConcurrentAgents
   * and what the resource budget can hold at once (announced, with what caps it, when it changes).
   */
  private concurrency(state: SchedulerState): number {
    const budget = this.deps.resources.usage().budget;
    const inputs = {
      scheduler: this.scheduler.concurrency(state),
      maxConcurrentAgents: this.plan.maxConcurrentAgents,
      maxConcurrentAllocations: budget.maxConcurrentAllocations,
      maxTotalMemoryMB: budget.maxTotalMemory,
      perAgentMB: state.memory.perAgentMB,
    };
    const cap = concurrencyCap(inputs);
    if (cap.value !== this.lastConcurrency) {
      this.lastConcurrency = cap.value;
      const { value, reason, limitedBy, requested } = withReason(cap, { ...inputs, schedulerReason: this.scheduler.explain?.() ?? this.deps.strategy.name });
      this.deps.emit({ type: 'concurrency', coordinationId: this.plan.id, value, reason, limitedBy, requested, at: Date.now() });
      if (limitedBy.startsWith('resources.')) this.deps.logger.info({ concurrency: value, requested, limitedBy }, reason);
    }
    return cap.value;
  }
}
