import type { QiError } from '@qi/base';
import type { TaskDistribution } from '../distribution/types.js';
import { qiError } from '../errors/catalogue.js';
import { cancelledError, failurePolicyOf, stalledError, unreachableError } from './failure-policy.js';
import { resolveInputs } from './inputs.js';
import { attemptOn, msLeft, withDeadline } from './run-attempt.js';
import { applyEvent, initialRunState } from './reducer.js';
import { RunAgents, type LiveAgent } from './run-agents.js';
import { NOT_STARTED } from '../subagent/agent.js';
import { RunDelegation } from './run-delegation.js';
import { RunFailures } from './run-failures.js';
import { replay, resumePoint } from './run-resume.js';
import { admissionError, admissionStuck } from './admission.js';
import { GracefulStops } from './graceful-stops.js';
import { RunJournalSink } from './run-journal-sink.js';
import { delegationLimits } from './delegation.js';
import type { RunDeps } from './run-deps.js';
import { TERMINAL_STATUSES, type RunEvent, type RunState } from './run-events.js';
import { RunPlan } from './run-plan.js';
import { buildResult, executionStatus } from './run-result.js';
import { RunScheduling } from './run-scheduling.js';
import { RunServices } from './run-services.js';
import { streamEventOf } from './run-stream.js';
import type { CoordinationResult, ExecutionStatus } from './types.js';

export type { RunDeps } from './run-deps.js';


/**
 * One execution of a distribution, as an event-sourced state machine: its state (run-events.ts)
 * changes only by `record(event)` through the reducer; what to do after a failure comes from the
 * pure failure policy as commands, which `carryOut` executes; which ready subtask starts next and
 * how many may run is RunScheduling's; agents are leased from RunAgents. The loop itself:
 * dispatch ready subtasks → run each on an agent → record its end → decide → dispatch again.
 */
export class CoordinationRun {
  readonly id: string;
  status: 'initializing' | 'executing' | 'completed' | 'failed' | 'cancelled' = 'initializing';
  private readonly plan: RunPlan;
  private readonly state: RunState;
  private readonly failures: RunFailures;
  private readonly scheduling: RunScheduling;
  private readonly agents: RunAgents;
  private readonly services: RunServices;
  private readonly delegation: RunDelegation;
  /** Subtasks holding a concurrency slot (dispatched, not ended): their agent once bound. */
  private readonly running = new Map<number, LiveAgent | null>();
  /** Parents waiting for their delegated children (they hold no concurrency slot meanwhile). */
  private readonly waitingParents = new Set<number>();
  /** Subtasks taken back from an agent's queue before they began, until their next dispatch. */
  private readonly takenBack = new Set<number>();
  /** Resumed subtasks' lowest attempt number less one: the numbers the earlier run reserved (see resumeFrom). */
  private readonly attemptFloor = new Map<number, number>();
  private admissionCheck: NodeJS.Immediate | undefined;
  /** Agents of cancelled subtasks given killGraceMs to return after their ctx.signal aborted. */
  private readonly stops: GracefulStops;
  /** Outputs of succeeded subtasks by id (their dependents' inputs), read from the state. */
  private readonly outputs: Pick<ReadonlyMap<string, Readonly<Record<string, unknown>>>, 'get'>;
  private cancelled: QiError | undefined;
  private firstFailure: QiError | undefined;
  /** Applying a journal's events (resume): they are on disk already. */
  private replaying = false;
  private readonly journal: RunJournalSink;
  private timeLimit: NodeJS.Timeout | undefined;
  private resolveDone: ((r: CoordinationResult) => void) | undefined;
  private readonly done: Promise<CoordinationResult>;

  constructor(
    private readonly distribution: TaskDistribution,
    private readonly deps: RunDeps,
  ) {
    this.id = distribution.distributionId;
    this.plan = new RunPlan(distribution);
    this.state = initialRunState(this.plan.subtasks.map((s) => s.id));
    this.outputs = { get: (id) => this.state.subtasks[this.plan.indexOf(id)]?.outputs };
    this.services = new RunServices(distribution, deps, {
      onWait: () => this.pump(),
      onReleased: (pointId, outcome) => pointId in this.state.syncOutcomes || this.record({ type: 'sync-released', pointId, outcome, at: Date.now() }),
      laneOf: (target) => this.plan.laneOfTarget(target, (agentId) => this.agents.laneOf(agentId)),
    });
    this.scheduling = new RunScheduling(this.plan, deps, () => ({
      running: this.running.size - this.services.waitingSync.size - this.waitingParents.size - this.agents.aheadCount,
      ahead: () => this.agents.queueRoom(),
      takesAhead: (i) => this.agents.takesAhead(this.plan.profiles[i]!),
      agents: this.agents.values(),
      counts: this.state.counts,
    }));
    this.delegation = new RunDelegation({
      plan: this.plan,
      state: this.state,
      limits: delegationLimits(deps.config.delegation, distribution.originalTask.delegation),
      agentFor: (name, capabilities) => deps.registry.agentFor(name, capabilities),
      remainingMs: (i) => msLeft(this.plan.subtasks[i]!, this.plan.specs[i]!, this.state.subtasks[i]!),
      cancelled: () => this.cancelled !== undefined,
      record: (event) => this.record(event),
      waiting: (i, waits) => void (waits ? this.waitingParents.add(i) : this.waitingParents.delete(i)),
      pump: () => this.pump(),
    });
    const { hub, router } = this.services;
    this.agents = new RunAgents({
      factory: deps.factory,
      resources: deps.resources,
      context: deps.context,
      services: { ...this.services.forAgents(), delegate: (agent, subtaskId, requests, answer) => this.delegation.fromAgent(agent.id, subtaskId, requests, answer) },
      maxConcurrentAgents: distribution.strategy.maxConcurrentAgents,
      prefetch: deps.config.dispatch.prefetch,
      cancelled: () => this.cancelled,
      onStarted: (live) => {
        deps.agentStarted?.(live.agent.id);
        router.register(live.agent.id, (d) => live.agent.deliver(d));
        // The journal's write barrier: an attempt's start is in the file before the agent can get it.
        live.agent.beforeWrite(() => this.journal.flushPending());
      },
      onExit: (live) => {
        deps.agentGone?.(live.agent.id);
        hub.departAgent(live.agent.id);
        router.unregister(live.agent.id);
      },
    });
    this.failures = new RunFailures({
      state: this.state,
      policy: failurePolicyOf(distribution),
      succs: this.plan.graph.succs,
      idOf: (i) => this.plan.idOf(i),
      record: (event) => this.record(event),
      pump: () => this.pump(),
      ready: (i) => this.scheduling.ready.add(i),
      cancelRun: (error) => this.cancel(error),
      cancelled: () => this.cancelled,
      delegated: (i) => this.delegation.parent(i) !== undefined,
      noteFailure: (error) => void (this.firstFailure ??= error),
    });
    this.journal = new RunJournalSink(deps.journal, deps.logger);
    this.stops = new GracefulStops(deps.config.sandbox.killGraceMs, (live, reason, force) => void this.agents.retire(live, reason, 'terminated', force));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Runs to the end; always resolves (a failed run is a result with `success: false`). */
  execute(): Promise<CoordinationResult> {
    this.status = 'executing';
    if (this.deps.replay !== undefined && this.deps.replay.length > 0) return this.resumeFrom(this.deps.replay);
    this.record({ type: 'run-started', at: Date.now() });
    this.deps.emit({ type: 'run-start', coordinationId: this.id, taskId: this.distribution.originalTask.id, subtasks: this.plan.subtasks.length, at: this.state.startedAt! });
    const limit = this.distribution.originalTask.timeLimit;
    if (limit !== undefined) {
      this.timeLimit = setTimeout(() => this.cancel(qiError('TIME_LIMIT', `task '${this.distribution.originalTask.id}' ran past its timeLimit of ${limit} ms`, { limitMs: limit })), limit);
    }
    for (const i of this.scheduling.dag.roots()) this.scheduling.ready.add(i);
    this.pump();
    return this.done;
  }

  /**
   * Continues a run from the events of its earlier life (a journal), replayed as they happened
   * (run-resume.ts); then what was in flight runs again and everything whose inputs exist is ready.
   */
  private resumeFrom(events: readonly RunEvent[]): Promise<CoordinationResult> {
    this.replaying = true;
    replay(events, { state: this.state, idOf: (i) => this.plan.subtasks[i]?.id, accepts: (e) => this.delegation.accepts(e), record: (e) => this.record(e) });
    this.replaying = false;
    this.deps.emit({ type: 'run-start', coordinationId: this.id, taskId: this.distribution.originalTask.id, subtasks: this.plan.subtasks.length, at: this.state.startedAt ?? Date.now() });
    for (const [pointId, outcome] of Object.entries(this.state.syncOutcomes)) this.services.hub.restoreReleased(pointId, outcome);
    // What is ready now could have been sent before the crash (its inputs were on disk) with any
    // number reserved then, unrecorded: its next attempt is numbered above all of them.
    for (const i of resumePoint(this.state, this.plan.graph.preds, (e) => this.record(e))) {
      this.attemptFloor.set(i, this.state.reservedAttempts);
      this.scheduling.ready.add(i);
    }
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
    this.agents.abortWaits();
    this.failures.clear();
    for (const i of [...this.running.keys()]) this.cancelSubtask(i, reason);
    this.state.subtasks.forEach((s, i) => s.status === 'pending' && this.record({ type: 'subtask-cancelled', index: i, subtaskId: s.id, error: cancelledError(s.id, reason), at: Date.now() }));
    this.scheduling.ready.clear();
    this.services.close();
    this.maybeFinish();
  }

  /**
   * Cancels one subtask and its delegated subtree (a host's `coordinator.cancel(runId, { subtaskId })`,
   * a parent's end, the run's cancel). A running one is told first (its ctx.signal aborts) and
   * gets killGraceMs to return before its agent is killed.
   */
  cancelSubtask(i: number, reason: QiError): boolean {
    const s = this.state.subtasks[i];
    if (s === undefined || TERMINAL_STATUSES.has(s.status)) return false;
    this.scheduling.ready.delete(i);
    // A planned subtask cancelled on its own (a host's cancel) is the run's failure; a delegated one is its parent's.
    if (this.delegation.parent(i) === undefined) this.firstFailure ??= reason;
    this.record({ type: 'subtask-cancelled', index: i, subtaskId: s.id, error: cancelledError(s.id, reason), at: Date.now() });
    const live = this.running.get(i);
    // One sent ahead and not begun is taken back from its agent; the agent's running subtask goes on.
    if (live !== undefined && live !== null && !live.agent.cancelQueued(s.id, reason.message)) this.stops.stop(live, reason.message, s.id);
    return true;
  }

  /** The subtask index of an id, or -1. */
  indexOf(subtaskId: string): number {
    return this.plan.indexOf(subtaskId);
  }

  /** Writes the journal's queued records now: the process is exiting (see CoordinationExecutionEngine). */
  writeJournalNow(): void {
    this.journal.writeQueued();
  }

  /** Live progress (spec: ExecutionStatus). */
  progress(): ExecutionStatus {
    let partial = 0;
    for (const i of this.running.keys()) partial += this.scheduling.progressOf(i);
    const status = this.status === 'executing' || this.status === 'initializing' ? 'running' : this.status;
    return executionStatus(this.id, status, this.state.counts, partial, [...this.agents.values()].filter((a) => a.busy).length);
  }

  /** Progress and usage from the run's agents (the coordinator forwards their events here). */
  onAgentEvent(event: { type: string; subtaskId?: string; fraction?: number }): void {
    if (event.type === 'progress' && event.subtaskId !== undefined && event.fraction !== undefined) this.scheduling.setProgress(this.plan.indexOf(event.subtaskId), event.fraction);
    else if (event.type === 'usage') {
      this.scheduling.sample();
      this.pump();
    }
  }

  private isFinished(): boolean {
    return this.status === 'completed' || this.status === 'failed' || this.status === 'cancelled';
  }

  /** The one way the run's state changes: the reducer applies the event, then its effects follow. */
  private record(event: RunEvent): boolean {
    if (!applyEvent(this.state, event)) return false;
    if (!this.replaying) this.journal.record(event);
    this.observe(event);
    return true;
  }

  /**
   * What an applied event means outside the state: the DAG, the sync points, the event stream.
   * A subtask leaves the sync points it has not reached only at its end: a retried attempt still arrives.
   */
  private observe(event: RunEvent): void {
    if (event.type === 'subtasks-added') return this.added(event);
    if (this.scheduling.observe(event, this.state) && 'subtaskId' in event) {
      this.services.hub.depart(event.subtaskId);
      this.delegation.onEnded(event.index);
    }
    // A resume's replayed history is not news: nothing below happens for it.
    if (this.replaying) return;
    if ('index' in event) this.endScope(event);
    if (event.type === 'fallback-applied') this.deps.logger.warn({ action: event.action, ...event.detail }, `fallback: ${event.action}`);
    const streamed = streamEventOf(this.id, event, this.state);
    if (streamed !== undefined) this.deps.emit(streamed);
  }

  /**
   * A parent's attempt ended: the children it did not wait for go with it. Not on a resume's
   * requeue of what was in flight: the parent runs again and finds its children where they are.
   */
  private endScope(event: Extract<RunEvent, { index: number }>): void {
    if (event.type === 'subtask-dispatched' || event.type === 'subtask-started' || (event.type === 'subtask-requeued' && event.reason === 'resumed')) return;
    const descendants = this.delegation.openDescendants(event.index);
    if (descendants.length === 0) return;
    const reason = qiError('CANCELLED', `its parent subtask '${event.subtaskId}' ended (${event.type.replace('subtask-', '')})`, { parentId: event.subtaskId });
    for (const d of descendants) this.cancelSubtask(d, reason);
  }

  /** Delegated subtasks joined the run: placed in the plan under their parent, and ready (their inputs are literal). */
  private added(event: Extract<RunEvent, { type: 'subtasks-added' }>): void {
    const indices = this.delegation.add(event);
    this.scheduling.added(indices.length, this.plan.indexOf(event.subtasks[0]!.parentId));
    this.services.router.declareSubtasks(event.subtasks.map((d) => d.id));
    if (this.replaying) return;
    const streamed = streamEventOf(this.id, event, this.state);
    if (streamed !== undefined) this.deps.emit(streamed);
    for (const i of indices) this.scheduling.ready.add(i);
    this.pump();
  }

  /** Starts as many ready subtasks as the scheduler allows. */
  private pump(): void {
    this.scheduling.startReady(this.cancelled === undefined, (i) => void this.runSubtask(i));
    this.agents.makeRoomForWaits();
    if (this.waitingParents.size > 0 && this.agents.budgetWaits > 0) this.admissionCheck ??= setImmediate(() => this.checkAdmission());
    if (this.cancelled === undefined && this.scheduling.ready.size > 0 && this.running.size === 0 && this.failures.waiting === 0) this.stalled();
    this.maybeFinish();
  }

  /**
   * Children wait for budget for an agent while every agent the run holds is a parent waiting for
   * children (or at a sync point): nothing will ever give budget back, so the waiting children fail
   * DELEGATION_LIMIT instead of hanging the run. Checked after the turn (a wait that budget can
   * meet is gone by then).
   */
  private checkAdmission(): void {
    this.admissionCheck = undefined;
    if (this.waitingParents.size === 0) return;
    const stuck = admissionStuck({
      agents: this.agents.values(),
      running: this.running,
      waiting: (i) => this.waitingParents.has(i) || this.services.waitingSync.has(this.plan.idOf(i)),
      waitsForBudget: (i) => this.agents.waitsForBudget(i),
    });
    if (!stuck) return;
    this.agents.abortWaits(admissionError(this.deps.resources.usage().budget, [...this.waitingParents].map((i) => this.plan.idOf(i))));
  }

  /**
   * The scheduler picked none of the ready subtasks while nothing was running: nothing would
   * ever call it again, so they are skipped (and what waits for them) instead of hanging the run.
   */
  private stalled(): void {
    const error = stalledError(this.deps.strategy.name, this.scheduling.ready.size);
    this.firstFailure ??= error;
    for (const i of [...this.scheduling.ready]) this.record({ type: 'subtask-skipped', index: i, subtaskId: this.plan.idOf(i), error, at: Date.now() });
  }

  /** One attempt of subtask `i`: lease an agent, run the subtask on it, record the outcome. */
  private async runSubtask(i: number): Promise<void> {
    const subtask = this.plan.subtasks[i]!;
    const s = this.state.subtasks[i]!;
    // A retry runs on a fresh agent; a subtask taken back before it began failed nothing, and does not.
    const retry = s.tries > 0 && !this.takenBack.delete(i);
    const attempt = Math.max(s.attempts, this.attemptFloor.get(i) ?? 0) + 1;
    this.attemptFloor.delete(i);
    // Reserved (in the journal's file before the agent gets it: the write barrier) once per new highest number, not once per start.
    if (attempt > this.state.reservedAttempts) this.record({ type: 'attempts-reserved', upTo: attempt, at: Date.now() });
    this.record({ type: 'subtask-dispatched', index: i, subtaskId: subtask.id, attempt, at: Date.now() });
    this.running.set(i, null);
    const acquired = await this.agents.acquire(this.plan.leaseRequest(i, this.id, retry));
    if (this.state.subtasks[i]!.status !== 'running') {
      if (acquired.tag === 'success') this.agents.release(acquired.value);
      this.running.delete(i);
      this.maybeFinish();
      return;
    }
    if (acquired.tag === 'failure') {
      this.running.delete(i);
      this.onFailure(i, acquired.error);
      return;
    }
    const live = acquired.value;
    this.running.set(i, live);
    const startedAt = Date.now();
    this.record({ type: 'subtask-started', index: i, subtaskId: subtask.id, attempt, agentId: live.agent.id, at: startedAt });
    const inputs = resolveInputs(subtask, this.plan.graph.inputSources[i]!, this.outputs, this.distribution.originalTask.inputs ?? {});
    const end = await attemptOn(live, this.agents.record(live.agent.id), this.services.router, withDeadline(subtask, this.state.subtasks[i]!.deadlineFactor), inputs, attempt, startedAt);
    this.running.delete(i);
    if (end === NOT_STARTED) return this.notStarted(i, live, attempt);
    if ((this.state.subtasks[i]!.status as string) === 'cancelled') {
      this.stops.returned(live, subtask.id);
      // A reentrant agent stays for the subtasks running beside it; another one is being retired.
      if (live.agent.concurrency > 1) this.agents.release(live);
      return this.pump();
    }
    if (end.outcome.tag === 'success') {
      this.record({ type: 'subtask-succeeded', index: i, subtaskId: subtask.id, attempt, outputs: end.outcome.value.outputs, usage: end.usage, agentId: live.agent.id, startedAt, at: end.at });
      this.scheduling.subtaskEnded(i, true, end.durationMs);
      this.agents.release(live);
      // A success is on disk before its dependents start (journaled runs with dependents only).
      if (this.journal.on && this.plan.graph.succs[i]!.length > 0) await this.journal.durable();
      this.pump();
      return;
    }
    // The agent of a failed attempt goes (it may hold the failure's state); a reentrant one stays
    // for the subtasks running beside it (its plugin declared its calls independent), and the retry
    // runs on another agent.
    if (live.agent.concurrency > 1) this.agents.release(live);
    else if (live.agent.alive) void this.agents.retire(live, `subtask '${subtask.id}' failed`, 'terminated');
    this.onFailure(i, end.outcome.error, end.usage);
  }

  /**
   * A subtask sent ahead came back unstarted (its agent took it back or ended first): nothing of
   * it ran, so it is ready again without counting as a failure (its next attempt has the next number).
   */
  private notStarted(i: number, live: LiveAgent, attempt: number): void {
    this.agents.release(live);
    const s = this.state.subtasks[i]!;
    if (s.status === 'running') {
      const error = qiError('CANCELLED', `subtask '${s.id}' was sent ahead to agent ${live.agent.id} and taken back before it began`, { subtaskId: s.id, agentId: live.agent.id, notStarted: true });
      this.record({ type: 'subtask-requeued', index: i, subtaskId: s.id, attempt, error, delayMs: 0, reason: 'taken back before it began', at: Date.now() });
      this.takenBack.add(i);
      this.scheduling.ready.add(i);
    }
    this.pump();
  }

  /** An attempt failed: the failure policy decides (RunFailures carries it out). */
  private onFailure(i: number, error: QiError, usage?: RunState['subtasks'][number]['usage']): void {
    const s = this.state.subtasks[i]!;
    if (this.cancelled === undefined) this.scheduling.subtaskEnded(i, false, Date.now() - (s.startedAt ?? Date.now()));
    this.failures.onFailure(i, error, usage);
  }

  private maybeFinish(): void {
    if (this.isFinished() || this.running.size > 0) return;
    if (this.cancelled === undefined && (this.scheduling.ready.size > 0 || this.failures.waiting > 0)) return;
    if (this.cancelled === undefined) {
      // Nothing can run: these wait for subtasks that will never succeed.
      this.state.subtasks.forEach((s, i) => TERMINAL_STATUSES.has(s.status) || this.record({ type: 'subtask-skipped', index: i, subtaskId: s.id, error: unreachableError(s.id), at: Date.now() }));
    }
    void this.finish();
  }

  /** Where a subtask sits in the delegation tree (top-level subtasks: depth 0, no parent). */
  private delegationOf(i: number): { parentId?: string; depth: number } {
    const parent = this.delegation.parent(i);
    return parent === undefined ? { depth: 0 } : { parentId: this.plan.idOf(parent), depth: this.delegation.depth(i) };
  }

  private async finish(): Promise<void> {
    // The run's time ends with its last subtask; stopping the agents afterwards is cleanup (still
    // awaited before the result is returned, so no agent outlives it).
    const executionTime = Date.now() - this.state.startedAt!;
    // Delegated subtasks answer to their parents: the run succeeds when every planned subtask did.
    const ok = this.state.subtasks.every((s, i) => i >= this.plan.planned || s.status === 'succeeded');
    this.status = ok ? 'completed' : this.cancelled?.code === 'CANCELLED' && this.firstFailure === this.cancelled ? 'cancelled' : 'failed';
    this.record({ type: 'run-ended', status: this.status, error: ok ? undefined : this.firstFailure, at: Date.now() });
    clearTimeout(this.timeLimit);
    clearImmediate(this.admissionCheck);
    this.stops.clear();
    this.services.close();
    // The warm pool is not refilled here: a run's end is no sign that agents of its profiles will
    // be wanted again (the CLI closes right after), and pool agents nobody takes are pure cost.
    // The journal is written and synced while the agents stop (its writes run in the background; closing finds nothing in flight).
    await Promise.all([this.agents.stopAll('run finished'), this.journal.durable()]);
    const result = buildResult(this.id, this.state, this.agents.agentRecords(), executionTime, this.services.communicationMs, ok ? undefined : this.firstFailure, (i) => this.delegationOf(i));
    this.deps.emit({ type: 'run-end', coordinationId: this.id, success: ok, status: this.status, executionTime, at: Date.now() });
    this.resolveDone?.(result);
  }
}
