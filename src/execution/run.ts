import os from 'node:os';
import type { QiError, Result } from '@qi/base';
import { failure, getRetryStrategy, success } from '@qi/base';
import type { Logger } from 'pino';
import { ChannelRouter } from '../channels/index.js';
import type { Config } from '../config/schema.js';
import type { AgentContext } from '../context.js';
import type { TaskGraph } from '../dag/graph.js';
import { buildTaskGraph } from '../dag/graph.js';
import type { TaskDistribution } from '../distribution/types.js';
import { profileKeys } from '../distribution/specs.js';
import { plannedGraph } from '../distribution/planned-graph.js';
import { qiError } from '../errors/catalogue.js';
import type { CoordinatorEvent, SubtaskStatus } from '../events/types.js';
import type { PlanInput, ReadySubtask, Scheduler, SchedulerState } from '../plugin/strategy-types.js';
import type { StrategyPluginEntry } from '../plugins/registry.js';
import type { ResourceManager } from '../resources/index.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SubTask } from '../schemas/task.js';
import type { ChannelRequest, SubAgent } from '../subagent/agent.js';
import type { SubAgentFactory } from '../subagent/factory.js';
import { SyncHub } from '../sync/index.js';
import { handOver, waitFor, type BudgetWait } from './budget-waits.js';
import { effectiveConcurrency } from './concurrency.js';
import { graphMetrics, type GraphMetrics } from './graph-metrics.js';
import { resolveInputs } from './inputs.js';
import { ReadyList } from './ready-list.js';
import { aggregate, agentResults, metrics, type AgentRecord, type SubtaskRecord } from './report.js';
import type { AggregatedResult, CoordinationResult, ExecutionStatus } from './types.js';

export interface RunDeps {
  readonly factory: SubAgentFactory;
  readonly resources: ResourceManager;
  readonly strategy: StrategyPluginEntry;
  readonly config: Config;
  readonly logger: Logger;
  readonly context: AgentContext;
  /** The run's directory (checkpoints). */
  readonly runDir: string;
  readonly emit: (event: CoordinatorEvent) => void;
}

interface LiveAgent {
  readonly agent: SubAgent;
  readonly profile: string;
  lane: number;
  busy: boolean;
  /** Set when the run itself stops the agent (not a failure of the agent). */
  retiring: boolean;
  /** The agent's budget allocation, held until its process is gone. */
  readonly allocationId: string;
  readonly memoryMB: number;
}

/** The DAG the plan was made with (see planned-graph.ts), if the plan still carries it. */
function knownGraph(distribution: TaskDistribution): Result<TaskGraph, QiError> | undefined {
  const graph = plannedGraph(distribution);
  return graph === undefined ? undefined : success(graph);
}

const MAX_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 100;
const TERMINAL: ReadonlySet<SubtaskStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/**
 * One execution of a distribution. Subtasks start when their inputs exist, in the order and at
 * the concurrency the strategy's scheduler chooses; each runs on a SubAgent of its profile
 * (an idle one of its lane or profile, else a new one admitted by the resource manager).
 * Failures follow the strategy's failure handling and the plan's fallback actions.
 */
export class CoordinationRun {
  readonly id: string;
  status: 'initializing' | 'executing' | 'completed' | 'failed' | 'cancelled' = 'initializing';
  private readonly subtasks: readonly SubTask[];
  private readonly specs: readonly SubAgentSpecification[];
  private readonly profiles: readonly string[];
  private readonly laneOf: Int32Array;
  private readonly graph: TaskGraph;
  private readonly gm: GraphMetrics;
  private readonly records: SubtaskRecord[];
  private readonly remainingPreds: Int32Array;
  private readonly ready: ReadyList;
  /** Subtasks not yet in a terminal state, per DAG level (for the lowest open level). */
  private readonly openPerLevel: Int32Array;
  private lowestOpenLevel = 0;
  private readonly terminal: Uint8Array;
  private succeededCount = 0;
  private failedCount = 0;
  /** Outputs of succeeded subtasks, by id (inputs of their dependents). */
  private readonly outputs = new Map<string, Readonly<Record<string, unknown>>>();
  private readonly running = new Map<number, LiveAgent | null>();
  private readonly waitingSync = new Set<string>();
  private readonly agents = new Map<string, LiveAgent>();
  private readonly agentRecords = new Map<string, AgentRecord>();
  private readonly scheduler: Scheduler;
  private readonly hub: SyncHub;
  private readonly router: ChannelRouter;
  private readonly fallbacks: { action: string; detail: Record<string, unknown> }[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Subtasks waiting for budget for a new agent, by subtask index (cancel() ends them at once). */
  private readonly acquiring = new Map<number, BudgetWait<LiveAgent>>();
  private readonly latencies: number[] = [];
  private reassignments = 0;
  private pendingStarts = 0;
  private communicationMs = 0;
  private cancelled: QiError | undefined;
  private firstFailure: QiError | undefined;
  private startedAt = 0;
  private lastConcurrency = 0;
  private timeLimit: NodeJS.Timeout | undefined;
  private resolveDone: ((r: CoordinationResult) => void) | undefined;
  private readonly done: Promise<CoordinationResult>;

  constructor(
    private readonly distribution: TaskDistribution,
    private readonly deps: RunDeps,
  ) {
    this.id = distribution.distributionId;
    this.subtasks = distribution.subtasks;
    const graph = knownGraph(distribution) ?? buildTaskGraph(this.subtasks, distribution.originalTask.dependencies);
    if (graph.tag === 'failure') throw new Error(`a distribution with an invalid DAG reached execution: ${graph.error.message}`);
    this.graph = graph.value;
    this.specs = this.subtasks.map((s) => distribution.specifications[s.id]!);
    this.profiles = profileKeys(this.specs);
    this.laneOf = new Int32Array(this.subtasks.length);
    const index = this.graph.index;
    distribution.agentAllocations.forEach((a, l) => a.assignedSubTasks.forEach((s) => (this.laneOf[index.get(s.id)!] = l)));
    this.gm = graphMetrics(this.graph, this.subtasks.map((s) => s.estimatedDuration));
    this.records = this.subtasks.map((s) => ({
      id: s.id,
      status: 'pending',
      attempts: 0,
      agentId: undefined,
      error: undefined,
      startedAt: undefined,
      endedAt: undefined,
      usage: undefined,
      outputs: undefined,
      progress: 0,
      deadlineFactor: 1,
      extensions: 0,
    }));
    this.remainingPreds = Int32Array.from(this.graph.preds.map((p) => p.length));
    this.ready = new ReadyList((i) => this.view(i));
    this.terminal = new Uint8Array(this.subtasks.length);
    this.openPerLevel = new Int32Array(this.subtasks.length === 0 ? 1 : Math.max(...this.gm.level) + 1);
    for (const level of this.gm.level) this.openPerLevel[level]! += 1;
    this.scheduler = deps.strategy.plugin.createScheduler(this.planInput());
    const { strategy } = distribution;
    this.hub = new SyncHub({
      points: distribution.synchronizationPlan.points,
      allSubtasks: this.subtasks.map((s) => s.id),
      failureHandling: strategy.failureHandling,
      checkpointDir: deps.runDir,
      onEvent: (event) => deps.emit({ type: 'sync', coordinationId: this.id, event: { ...event }, at: Date.now() }),
    });
    this.router = new ChannelRouter({
      maxMessageBytes: deps.config.sandbox.maxMessageBytes,
      onEvent: (event) => deps.emit({ type: 'channel', coordinationId: this.id, event: { ...event }, at: Date.now() }),
    });
    this.router.declareSubtasks(this.subtasks.map((s) => s.id));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  private planInput(): PlanInput {
    return {
      subtasks: this.subtasks.map((s, i) => ({ id: s.id, estimatedDuration: s.estimatedDuration, profile: this.profiles[i]! })),
      preds: this.graph.preds,
      succs: this.graph.succs,
      order: this.graph.order,
      maxConcurrentAgents: this.distribution.strategy.maxConcurrentAgents,
    };
  }

  /** Runs to the end; always resolves (a failed run is a result with `success: false`). */
  execute(): Promise<CoordinationResult> {
    this.startedAt = Date.now();
    this.status = 'executing';
    this.deps.emit({ type: 'run-start', coordinationId: this.id, taskId: this.distribution.originalTask.id, subtasks: this.subtasks.length, at: this.startedAt });
    const limit = this.distribution.originalTask.timeLimit;
    if (limit !== undefined) {
      this.timeLimit = setTimeout(() => this.cancel(qiError('TIME_LIMIT', `task '${this.distribution.originalTask.id}' ran past its timeLimit of ${limit} ms`, { limitMs: limit })), limit);
    }
    this.graph.preds.forEach((p, i) => p.length === 0 && this.ready.add(i));
    this.pump();
    return this.done;
  }

  /** Resolves with the result once the run has ended (after `execute`). */
  get ended(): Promise<CoordinationResult> {
    return this.done;
  }

  /** Stops the run: running agents are stopped, pending subtasks cancelled, the partial result kept. */
  cancel(reason: QiError): void {
    if (this.cancelled !== undefined || this.isFinished()) return;
    this.cancelled = reason;
    this.firstFailure ??= reason;
    for (const wait of this.acquiring.values()) wait.controller.abort();
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    for (const [i, live] of this.running) {
      this.records[i]!.status = 'cancelled';
      if (live !== null) {
        live.retiring = true;
        void live.agent.terminate(`run cancelled: ${reason.code}`, 'terminated', true);
      }
    }
    for (const record of this.records) if (record.status === 'pending') this.end(record, 'cancelled');
    this.ready.clear();
    this.hub.close();
    this.router.close();
    this.maybeFinish();
  }

  /** Live progress (spec: ExecutionStatus). */
  progress(): ExecutionStatus {
    const total = this.records.length;
    const completed = this.records.filter((r) => r.status === 'succeeded').length;
    const finished = this.records.filter((r) => TERMINAL.has(r.status)).length;
    const partial = this.records.reduce((s, r) => s + (r.status === 'running' ? r.progress : 0), 0);
    const status = this.status === 'executing' || this.status === 'initializing' ? 'running' : this.status;
    return {
      coordinationId: this.id,
      status,
      progress: total === 0 ? 1 : Math.min(1, (finished + partial) / total),
      activeAgents: [...this.agents.values()].filter((a) => a.busy).length,
      completedTasks: completed,
      totalTasks: total,
    };
  }

  /** Progress and usage from the run's agents (the coordinator forwards their events here). */
  onAgentEvent(event: { type: string; subtaskId?: string; fraction?: number }): void {
    if (event.type === 'progress' && event.subtaskId !== undefined && event.fraction !== undefined) {
      const i = this.graph.index.get(event.subtaskId);
      if (i !== undefined) this.records[i]!.progress = event.fraction;
    } else if (event.type === 'usage') {
      this.scheduler.onSample?.(this.state());
      this.pump();
    }
  }

  ownsAgent(agentId: string): boolean {
    return this.agents.has(agentId);
  }

  private isFinished(): boolean {
    return this.status === 'completed' || this.status === 'failed' || this.status === 'cancelled';
  }

  private state(): SchedulerState {
    const live = [...this.agents.values()];
    // Memory pressure is the busy agents' RSS: an idle agent is reused by the next subtask of its
    // profile or retired to make room, so the memory it still holds is no reason to run fewer.
    const usedMB = live.reduce((s, a) => s + (a.busy ? a.agent.instance.resourceUsage.memoryMB : 0), 0);
    let perAgentMB = 64;
    for (const view of this.ready.views()) perAgentMB = Math.max(perAgentMB, this.specs[view.index]!.resourceLimits.maxMemoryMB);
    const recent = this.latencies.slice(-5);
    return {
      running: this.running.size - this.waitingSync.size,
      completed: this.succeededCount,
      failed: this.failedCount,
      total: this.records.length,
      lowestOpenLevel: this.lowestOpenLevel,
      memory: { usedMB, budgetMB: this.deps.config.resources.maxTotalMemory, perAgentMB },
      cpu: { percent: live.reduce((s, a) => s + (a.agent.instance.resourceUsage.cpuPercent ?? 0), 0), cores: os.availableParallelism() },
      latencyRatio: recent.length === 0 ? undefined : recent.reduce((a, b) => a + b, 0) / recent.length,
    };
  }

  private view(i: number): ReadySubtask {
    return { index: i, id: this.subtasks[i]!.id, rank: this.gm.rank[i]!, bottomLevel: this.gm.bottomLevel[i]!, level: this.gm.level[i]!, estimatedDuration: this.subtasks[i]!.estimatedDuration };
  }

  /** Starts as many ready subtasks as the scheduler allows. */
  private pump(): void {
    while (this.cancelled === undefined && this.ready.size > 0) {
      const state = this.state();
      const cap = this.concurrency(state);
      if (state.running >= cap) break;
      const candidates = this.ready.views();
      const k = this.scheduler.pick(candidates, state);
      const chosen = candidates[k];
      if (chosen === undefined) break;
      this.ready.delete(chosen.index);
      void this.start(chosen.index);
    }
    if (this.acquiring.size > 0) this.makeRoom(Math.max(...[...this.acquiring.values()].map((w) => w.memoryMB)));
    if (this.cancelled === undefined && this.ready.size > 0 && this.running.size === 0 && this.retryTimers.size === 0) this.stalled();
    this.maybeFinish();
  }

  /**
   * How many subtasks may run now: the scheduler's wish within the plan's maxConcurrentAgents
   * and what the resource budget can hold at once (announced, with what caps it, when it changes).
   */
  private concurrency(state: SchedulerState): number {
    const budget = this.deps.resources.usage().budget;
    const effective = effectiveConcurrency({
      scheduler: this.scheduler.concurrency(state),
      schedulerReason: this.scheduler.explain?.() ?? this.deps.strategy.name,
      maxConcurrentAgents: this.distribution.strategy.maxConcurrentAgents,
      maxConcurrentAllocations: budget.maxConcurrentAllocations,
      maxTotalMemoryMB: budget.maxTotalMemory,
      perAgentMB: state.memory.perAgentMB,
    });
    if (effective.value !== this.lastConcurrency) {
      this.lastConcurrency = effective.value;
      const { value, reason, limitedBy, requested } = effective;
      this.deps.emit({ type: 'concurrency', coordinationId: this.id, value, reason, limitedBy, requested, at: Date.now() });
      if (limitedBy.startsWith('resources.')) this.deps.logger.info({ concurrency: value, requested, limitedBy }, reason);
    }
    return effective.value;
  }

  /**
   * The scheduler picked none of the ready subtasks while nothing was running: nothing would
   * ever call it again, so they are skipped (and what waits for them) instead of hanging the run.
   */
  private stalled(): void {
    const name = this.deps.strategy.name;
    const error = qiError('PLUGIN_INVALID', `strategy '${name}' started none of the ${this.ready.size} ready subtask(s) while nothing was running; its scheduler's pick must choose one`, {
      strategy: name,
    });
    this.firstFailure ??= error;
    for (const i of this.ready) this.end(this.records[i]!, 'skipped', error);
    this.ready.clear();
  }

  private async start(i: number): Promise<void> {
    const record = this.records[i]!;
    record.status = 'running';
    record.attempts++;
    record.progress = 0;
    this.running.set(i, null);
    this.pendingStarts++;
    const acquired = await this.acquireAgent(i, record.attempts > 1);
    this.pendingStarts--;
    if (record.status !== 'running') {
      if (acquired.tag === 'success') this.idle(acquired.value);
      this.running.delete(i);
      this.end(record, record.status);
      this.maybeFinish();
      return;
    }
    if (acquired.tag === 'failure') {
      this.running.delete(i);
      this.onFailure(i, acquired.error, undefined);
      this.pump();
      return;
    }
    const live = acquired.value;
    this.running.set(i, live);
    const subtask = this.subtasks[i]!;
    record.agentId = live.agent.id;
    record.startedAt = Date.now();
    this.router.bindSubtask(subtask.id, live.agent.id);
    this.deps.emit({ type: 'subtask-start', coordinationId: this.id, subtaskId: subtask.id, agentId: live.agent.id, attempt: record.attempts, at: record.startedAt });
    const inputs = resolveInputs(subtask, this.graph.inputSources[i]!, this.outputs, this.distribution.originalTask.inputs ?? {});
    const maxDuration = subtask.executionConstraints.maxDuration;
    const withDeadline: SubTask =
      maxDuration === undefined || record.deadlineFactor === 1
        ? subtask
        : { ...subtask, executionConstraints: { ...subtask.executionConstraints, maxDuration: Math.round(maxDuration * record.deadlineFactor) } };
    const outcome = await live.agent.execute(withDeadline, inputs, record.attempts);
    this.running.delete(i);
    this.router.unbindSubtask(subtask.id);
    record.endedAt = Date.now();
    record.usage = { ...live.agent.instance.resourceUsage };
    const agentRecord = this.agentRecord(live.agent.id);
    agentRecord.busyMs += record.endedAt - record.startedAt;
    agentRecord.usage = { ...live.agent.instance.resourceUsage };
    agentRecord.peakMemoryMB = Math.max(agentRecord.peakMemoryMB, live.agent.peakRssMB);
    if (outcome.tag === 'success') {
      agentRecord.completed.push(subtask.id);
      this.onSuccess(i, outcome.value.outputs, record.endedAt - record.startedAt);
      this.idle(live);
    } else {
      agentRecord.failed.push(subtask.id);
      if (live.agent.alive) {
        live.retiring = true;
        void live.agent.terminate(`subtask '${subtask.id}' failed`, 'terminated');
      }
      this.onFailure(i, outcome.error, live);
    }
    this.pump();
  }

  private agentRecord(agentId: string): AgentRecord {
    let record = this.agentRecords.get(agentId);
    if (record === undefined) {
      record = { agentId, busyMs: 0, completed: [], failed: [], usage: { memoryMB: 0, executionTimeMs: 0, toolCalls: 0, networkRequests: 0, fileOperations: 0 }, peakMemoryMB: 0 };
      this.agentRecords.set(agentId, record);
    }
    return record;
  }

  private idle(live: LiveAgent): void {
    live.busy = false;
    if (!live.agent.alive || live.agent.status !== 'ready') {
      this.forget(live);
      return;
    }
    // A subtask of this profile waiting for budget for a new agent takes this one instead.
    const wait = waitFor(this.acquiring.values(), live.profile);
    if (wait === undefined) return;
    live.busy = true;
    live.lane = wait.lane;
    handOver(wait, live);
  }

  private forget(live: LiveAgent): void {
    if (!this.agents.has(live.agent.id)) return;
    this.agents.delete(live.agent.id);
    this.router.unregister(live.agent.id);
    this.deps.resources.release(live.allocationId);
  }

  /** An idle agent of the subtask's profile (its lane's first), else a new one within the budget. */
  private async acquireAgent(i: number, fresh: boolean): Promise<Result<LiveAgent, QiError>> {
    const profile = this.profiles[i]!;
    const lane = this.laneOf[i]!;
    if (!fresh) {
      const idle = [...this.agents.values()].filter((a) => !a.busy && a.profile === profile && a.agent.status === 'ready');
      const pick = idle.find((a) => a.lane === lane) ?? idle[0];
      if (pick !== undefined) {
        pick.busy = true;
        pick.lane = lane;
        return success(pick);
      }
    }
    const kept = [...this.agents.values()].filter((a) => !a.retiring);
    if (kept.length >= this.distribution.strategy.maxConcurrentAgents) {
      const spare = kept.find((a) => !a.busy);
      if (spare !== undefined) this.retire(spare, 'making room for another profile');
    }
    const spec = this.specs[i]!;
    const memoryMB = spec.resourceLimits.maxMemoryMB;
    this.makeRoom(memoryMB);
    const wait: BudgetWait<LiveAgent> = { memoryMB, profile, lane, controller: new AbortController(), handedOver: undefined };
    this.acquiring.set(i, wait);
    const priority = this.distribution.agentAllocations[lane]!.priority;
    const allocation = await this.deps.resources.acquire(memoryMB, `${this.id}:${this.subtasks[i]!.id}`, priority, wait.controller.signal, { untilReleased: true }).finally(() => this.acquiring.delete(i));
    if (wait.handedOver !== undefined) {
      if (allocation.tag === 'success') this.deps.resources.release(allocation.value.allocationId);
      return success(wait.handedOver);
    }
    if (allocation.tag === 'failure') return allocation;
    if (this.cancelled !== undefined) {
      this.deps.resources.release(allocation.value.allocationId);
      return failure(this.cancelled);
    }
    const spawned = await this.deps.factory.spawn(spec, this.deps.context, {
      services: { sync: (agent, subtaskId, pointId, value) => this.sync(agent, subtaskId, pointId, value), channel: (agent, subtaskId, request) => this.channel(agent, subtaskId, request) },
      refill: false,
    });
    if (spawned.tag === 'failure') {
      this.deps.resources.release(allocation.value.allocationId);
      return spawned;
    }
    const live: LiveAgent = {
      agent: spawned.value,
      profile,
      lane,
      busy: true,
      retiring: false,
      allocationId: allocation.value.allocationId,
      memoryMB,
    };
    this.agents.set(live.agent.id, live);
    this.agentRecord(live.agent.id);
    this.router.register(live.agent.id, (d) => live.agent.deliver(d));
    void live.agent.exited.then(() => this.onAgentExit(live));
    return success(live);
  }

  /**
   * Idle agents keep their budget for the next subtask of their profile. When a new agent of
   * `memoryMB` would not fit the budget, idle agents are retired until it does (budget of agents
   * already retiring counts as coming back): otherwise a new agent could wait forever for budget
   * that nobody gives back. Called before each budget wait and, while any waits, on every pump.
   */
  private makeRoom(memoryMB: number): void {
    const usage = this.deps.resources.usage();
    // An agent bigger than the whole budget is refused at once: retiring others would not help.
    if (memoryMB > usage.budget.maxTotalMemory) return;
    const returning = [...this.agents.values()].filter((a) => a.retiring);
    let freeMB = usage.budget.maxTotalMemory - usage.memoryMB + returning.reduce((sum, a) => sum + a.memoryMB, 0);
    let freeSlots = usage.budget.maxConcurrentAllocations - usage.allocations + returning.length;
    for (const spare of this.agents.values()) {
      if (memoryMB <= freeMB && freeSlots > 0) return;
      if (spare.busy || spare.retiring) continue;
      this.retire(spare, 'making room within the memory budget');
      freeMB += spare.memoryMB;
      freeSlots += 1;
    }
  }

  /** Stops an idle agent; its budget comes back when its process is gone (see onAgentExit). */
  private retire(live: LiveAgent, reason: string): void {
    live.retiring = true;
    void live.agent.terminate(reason, 'completed');
  }

  /** An agent's process is gone; if the run did not stop it, its lane's work is reassigned. */
  private onAgentExit(live: LiveAgent): void {
    this.hub.departAgent(live.agent.id);
    this.forget(live);
    if (live.retiring || this.isFinished() || this.cancelled !== undefined) return;
    const lane = live.lane;
    const moved = this.records.filter((r, i) => r.status === 'pending' && this.laneOf[i] === lane).map((r) => r.id);
    if (moved.length === 0) return;
    const limit = Number(this.fallbackParameter('reassign-tasks', 'maxReassignments') ?? 0);
    if (this.reassignments >= limit) return;
    this.reassignments++;
    this.fallback('reassign-tasks', { fromAgent: live.agent.id, lane: this.distribution.agentAllocations[lane]?.agentId, subtasks: moved, reassignment: this.reassignments, maxReassignments: limit });
  }

  private fallbackParameter(action: string, name: string): unknown {
    return this.distribution.fallbackPlan.actions.find((a) => a.action === action)?.parameters[name];
  }

  private fallback(action: string, detail: Record<string, unknown>): void {
    this.fallbacks.push({ action, detail });
    this.deps.emit({ type: 'fallback', coordinationId: this.id, action, detail, at: Date.now() });
    this.deps.logger.warn({ action, ...detail }, `fallback: ${action}`);
  }

  private onSuccess(i: number, outputs: Readonly<Record<string, unknown>>, durationMs: number): void {
    const record = this.records[i]!;
    record.outputs = outputs;
    this.outputs.set(record.id, outputs);
    // An earlier attempt's failure (retried, or a deadline extended) is not the subtask's error.
    record.error = undefined;
    record.progress = 1;
    this.end(record, 'succeeded');
    const estimate = this.subtasks[i]!.estimatedDuration;
    if (estimate > 0) this.latencies.push(durationMs / estimate);
    this.scheduler.onSubtaskEnd?.({ index: i, ok: true, durationMs }, this.state());
    for (const s of this.graph.succs[i]!) {
      this.remainingPreds[s]! -= 1;
      if (this.remainingPreds[s] === 0 && this.records[s]!.status === 'pending') this.ready.add(s);
    }
  }

  /**
   * A subtask's end (succeeded, failed, skipped, cancelled). Only now does it leave the
   * synchronization points it has not reached: a failed attempt that is retried still arrives.
   */
  private end(record: SubtaskRecord, status: SubtaskStatus, error?: QiError): void {
    record.status = status;
    this.count(record, status);
    if (error !== undefined) record.error = error;
    record.endedAt ??= Date.now();
    this.hub.depart(record.id);
    this.deps.emit({ type: 'subtask-end', coordinationId: this.id, subtaskId: record.id, agentId: record.agentId, status, attempt: record.attempts, error: record.error, at: Date.now() });
  }

  /** Keeps the counters the scheduler state reads (once per subtask: a terminal state is final). */
  private count(record: SubtaskRecord, status: SubtaskStatus): void {
    const i = this.graph.index.get(record.id)!;
    if (this.terminal[i] === 1) return;
    this.terminal[i] = 1;
    if (status === 'succeeded') this.succeededCount++;
    else if (status === 'failed') this.failedCount++;
    this.openPerLevel[this.gm.level[i]!]! -= 1;
    while (this.lowestOpenLevel < this.openPerLevel.length - 1 && this.openPerLevel[this.lowestOpenLevel] === 0) this.lowestOpenLevel++;
  }

  private requeue(i: number, delayMs: number, reason: string): void {
    const record = this.records[i]!;
    record.status = 'pending';
    this.deps.emit({ type: 'subtask-retry', coordinationId: this.id, subtaskId: record.id, attempt: record.attempts + 1, delayMs, reason, at: Date.now() });
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.cancelled !== undefined || record.status !== 'pending') return;
      this.ready.add(i);
      this.pump();
    }, delayMs);
    this.retryTimers.add(timer);
  }

  private onFailure(i: number, error: QiError, live: LiveAgent | undefined): void {
    const record = this.records[i]!;
    record.error = error;
    if (this.cancelled !== undefined) {
      this.end(record, 'cancelled');
      this.maybeFinish();
      return;
    }
    const { failureHandling } = this.distribution.strategy;
    this.scheduler.onSubtaskEnd?.({ index: i, ok: false, durationMs: (record.endedAt ?? Date.now()) - (record.startedAt ?? Date.now()) }, this.state());
    const maxExtensions = Number(this.fallbackParameter('extend-deadline', 'maxExtensions') ?? 0);
    if (error.code === 'TIME_LIMIT' && record.extensions < maxExtensions) {
      const factor = Number(this.fallbackParameter('extend-deadline', 'extensionFactor') ?? 1);
      record.extensions++;
      record.deadlineFactor *= factor;
      this.fallback('extend-deadline', { subtaskId: record.id, factor, agentId: live?.agent.id });
      this.requeue(i, 0, 'deadline extended');
      return;
    }
    const retry = getRetryStrategy(error.category);
    if (failureHandling === 'retry-cascade' && retry.strategy !== 'never' && record.attempts < MAX_ATTEMPTS) {
      const delay = retry.strategy === 'exponential_backoff' ? BACKOFF_BASE_MS * 2 ** (record.attempts - 1) : BACKOFF_BASE_MS * record.attempts;
      this.requeue(i, delay, `${error.code} (${retry.strategy})`);
      return;
    }
    this.end(record, 'failed', error);
    this.firstFailure ??= error;
    if (failureHandling === 'fail-fast') {
      this.cancel(qiError('CANCELLED', `run cancelled after subtask '${record.id}' failed (fail-fast): ${error.message}`, { cause: error.code, subtaskId: record.id }));
      return;
    }
    this.skipDependents(i, record.id);
    this.maybeFinish();
  }

  private skipDependents(i: number, cause: string): void {
    const stack = [...this.graph.succs[i]!];
    while (stack.length > 0) {
      const s = stack.pop()!;
      const record = this.records[s]!;
      if (record.status !== 'pending') continue;
      this.ready.delete(s);
      this.end(record, 'skipped', qiError('CANCELLED', `subtask '${record.id}' was skipped: its upstream '${cause}' failed`, { upstream: cause }));
      stack.push(...this.graph.succs[s]!);
    }
  }

  private async sync(agent: SubAgent, subtaskId: string, pointId: string, value: unknown): Promise<Result<unknown, QiError>> {
    this.waitingSync.add(subtaskId);
    this.pump();
    const started = performance.now();
    const result = await this.hub.arrive(pointId, subtaskId, agent.id, value);
    this.communicationMs += performance.now() - started;
    this.waitingSync.delete(subtaskId);
    return result;
  }

  /** A channel operation; `subtaskId` is the subtask the coordinator runs on `agent` (the sender, the restorer), never the child's claim. */
  private async channel(agent: SubAgent, subtaskId: string, m: ChannelRequest): Promise<Result<unknown, QiError>> {
    const started = performance.now();
    const target = m.target ?? '';
    let result: Result<unknown, QiError>;
    switch (m.op) {
      case 'send':
        result = this.router.send(subtaskId, target, m.body);
        break;
      case 'publish':
        result = this.router.publish(subtaskId, target, m.body);
        break;
      case 'subscribe':
        result = this.router.subscribe(agent.id, target);
        break;
      case 'unsubscribe':
        this.router.unsubscribe(agent.id, target);
        result = success(null);
        break;
      case 'queue-push':
        result = this.router.queuePush(subtaskId, target, m.body);
        break;
      case 'queue-pull':
        result = await this.router.queuePull(agent.id, target, m.timeoutMs);
        break;
      case 'queue-ack':
        result = this.router.queueAck(agent.id, target, String(m.body));
        break;
      case 'restore':
        result = success((await this.hub.restore(subtaskId)) ?? null);
        break;
      default:
        result = failure(qiError('NOT_FOUND', `channel operation '${m.op}' is not supported`, { op: m.op }));
    }
    if (m.op !== 'queue-pull') this.communicationMs += performance.now() - started;
    return result;
  }

  private maybeFinish(): void {
    if (this.isFinished() || this.running.size > 0 || this.pendingStarts > 0) return;
    if (this.cancelled === undefined && (this.ready.size > 0 || this.retryTimers.size > 0)) return;
    const open = this.records.filter((r) => !TERMINAL.has(r.status));
    if (open.length > 0 && this.cancelled === undefined) {
      // Nothing can run: these wait for subtasks that will never succeed.
      for (const r of open) this.end(r, 'skipped', qiError('CANCELLED', `subtask '${r.id}' could not start: an upstream subtask did not succeed`, {}));
    }
    void this.finish();
  }

  private async finish(): Promise<void> {
    // The run's time ends with its last subtask; stopping the agents afterwards is cleanup (still
    // awaited before the result is returned, so no agent outlives it).
    const executionTime = Date.now() - this.startedAt;
    const ok = this.records.every((r) => r.status === 'succeeded');
    this.status = ok ? 'completed' : this.cancelled?.code === 'CANCELLED' && this.firstFailure === this.cancelled ? 'cancelled' : 'failed';
    clearTimeout(this.timeLimit);
    this.hub.close();
    this.router.close();
    await Promise.all(
      [...this.agents.values()].map((live) => {
        live.retiring = true;
        return live.agent.terminate('run finished', 'completed');
      }),
    );
    for (const live of [...this.agents.values()]) this.forget(live);
    // The warm pool is not refilled here: a run's end is no sign that agents of its profiles will
    // be wanted again (the CLI closes right after), and pool agents nobody takes are pure cost.
    const results = agentResults([...this.agentRecords.values()], new Map(this.records.map((r) => [r.id, r])));
    const aggregated: AggregatedResult = aggregate(this.records, results, this.fallbacks);
    const result: CoordinationResult = {
      coordinationId: this.id,
      success: ok,
      results,
      aggregatedResult: aggregated,
      metrics: metrics(results, executionTime, this.communicationMs),
      executionTime,
      ...(ok || this.firstFailure === undefined ? {} : { error: this.firstFailure }),
    };
    this.deps.emit({ type: 'run-end', coordinationId: this.id, success: ok, status: this.status, executionTime, at: Date.now() });
    this.resolveDone?.(result);
  }
}
