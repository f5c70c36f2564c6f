import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Logger } from 'pino';
import { qiError } from '../errors/catalogue.js';
import { BRAND } from '../protocol/constants.js';
import type { ChildMessage, SubtaskMessage } from '../protocol/messages.js';
import type { SubTask } from '../schemas/task.js';
import { assign, type SubAgentInstance, type SubAgentStatus } from './instance.js';
import type { LimitKind, ResourceMonitor, UsageSample } from './monitor.js';
import { AheadQueue, NOT_STARTED } from './ahead-queue.js';
import { exitCause } from './exit-cause.js';
import { DEFAULT_MAX_DISK_MB } from './launch.js';
import type { AgentConnection, AgentEnd } from './transport.js';

/** A channel operation as the coordinator acts on it: without the subtask id the child claimed. */
export type ChannelRequest = Omit<Extract<ChildMessage, { type: 'channel' }>, 'subtaskId' | '__qicoord'>;

/**
 * The coordinator-side services an agent's messages reach (tools here; sync and channels from
 * the engine). `subtaskId` is always the subtask the coordinator gave the agent, never an id the
 * child wrote: sync arrivals, message senders, checkpoints and restores are attributed by it.
 */
export interface AgentServices {
  tool(agent: SubAgent, subtaskId: string, name: string, args: unknown, signal: AbortSignal): Promise<Result<unknown, QiError>>;
  sync?: ((agent: SubAgent, subtaskId: string, pointId: string, value: unknown) => Promise<Result<unknown, QiError>>) | undefined;
  channel?: ((agent: SubAgent, subtaskId: string, request: ChannelRequest) => Promise<Result<unknown, QiError>>) | undefined;
  /**
   * `ctx.delegate`: the requests as the child sent them (the run validates them); `answer` is
   * called once, with the children's outputs or why not. A callback, not a promise: the run
   * answers the moment the last child ends, ahead of its own bookkeeping for that end, so the
   * waiting parent goes on while the coordinator finishes it.
   */
  delegate?: ((agent: SubAgent, subtaskId: string, requests: readonly Record<string, unknown>[], answer: (result: Result<unknown, QiError>) => void) => void) | undefined;
  toolUsage(): { toolCalls: number; fileOperations: number; networkRequests: number };
}

/** Something that happened to an agent, for monitoring and the event stream. */
export type AgentEvent =
  | { readonly type: 'status'; readonly agentId: string; readonly agentType: string; readonly plugin: string; readonly status: SubAgentStatus; readonly reason?: string }
  | { readonly type: 'progress'; readonly agentId: string; readonly subtaskId: string; readonly fraction: number; readonly note?: string }
  | { readonly type: 'usage'; readonly agentId: string; readonly sample: UsageSample }
  | { readonly type: 'audit'; readonly agentId: string; readonly kind: string; readonly action: string; readonly detail: Record<string, unknown> }
  | { readonly type: 'tool'; readonly agentId: string; readonly subtaskId: string; readonly name: string; readonly ok: boolean; readonly startedAt: number; readonly endedAt: number };

export interface AgentOptions {
  readonly instance: SubAgentInstance;
  /** The transport's connection to the agent (a local child, the in-memory runtime, a remote worker). */
  readonly connection: AgentConnection;
  readonly monitor: ResourceMonitor;
  readonly services: AgentServices;
  readonly logger: Logger;
  readonly killGraceMs: number;
  readonly onEvent: (event: AgentEvent) => void;
  /** Called once the process is gone (release workspace, budget, …). */
  readonly onExit: (agent: SubAgent) => Promise<void>;
}

/** What one subtask produced. */
export interface SubtaskOutcome {
  readonly outputs: Record<string, unknown>;
  readonly startedAt: number;
  readonly endedAt: number;
}

export { NOT_STARTED };
/** A subtask's end, or NOT_STARTED for one sent ahead that came back unstarted (see ahead-queue.ts). */
export type AttemptOutcome = Result<SubtaskOutcome, QiError> | typeof NOT_STARTED;

/** Sending subtasks ahead (`dispatch.prefetch`) is for short subtasks only: an agent takes more while its subtasks average under this. */
export const PREFETCH_BELOW_MS = 5;

interface Running {
  readonly subtask: SubTask;
  readonly deadlineMs: number;
  /** True once the coordinator ended it (deadline, limit, violation), not the child's result or error. */
  endedByCoordinator: boolean;
  /** Aborts the subtask's tool calls when it ends; made by its first tool call (most subtasks make none). */
  abort?: AbortController;
  /** When it began running on the agent (a queued one: when the one before it ended). */
  startedAt: number;
  settle(r: AttemptOutcome): void;
  /** A queued subtask the coordinator asked back: to run elsewhere, or cancelled (its reason). */
  taking?: { readonly why: 'steal' | 'cancel'; readonly reason: string };
  /** Calls it waits on that other subtasks may have to answer (a sync point, its children, a queue pull). */
  blocked?: number;
  /** Its own deadline timer, on an agent running several subtasks at once (one agent-wide timer otherwise). */
  timer?: NodeJS.Timeout;
}

/** One reason for every ended subtask's abort signal (building a DOMException per subtask is costly). */
const SUBTASK_ENDED = new Error('subtask ended');
const END_STATUSES: ReadonlySet<SubAgentStatus> = new Set(['completed', 'failed', 'terminated']);
/** Broker refusals that are logged (through the agent's log budget). */
const REFUSAL_CODES: ReadonlySet<string> = new Set(['TOOL_DENIED', 'INVALID_TOOL_ARGS', 'TOOL_BUDGET', 'FILE_OP_BUDGET']);

/**
 * A live SubAgent: the real process, its enforced limits and its lifecycle. One subtask runs at
 * a time — or, for a reentrant plugin, up to its `concurrency` at once. A crossed limit stops the
 * process and fails the running subtasks with the limit's error; the agent's end is recorded
 * once, with the first reason.
 */
export class SubAgent {
  readonly id: string;
  readonly instance: SubAgentInstance;
  /** How many subtasks the agent runs at once (its plugin's `concurrency`; 1 unless it is reentrant). */
  readonly concurrency: number;
  /** The subtask running (the first begun, when several run). */
  private running: Running | undefined;
  /** The others running at once on a reentrant agent, in the order they began (always empty at concurrency 1). */
  private readonly alongside: Running[] = [];
  /**
   * On a reentrant agent, subtasks ended at their deadline whose plugin call has not returned yet,
   * by id: each has killGraceMs to return before the agent is stopped (with what runs beside it).
   */
  private readonly expiring = new Map<string, NodeJS.Timeout>();
  /** Subtasks sent ahead, in the order the agent will run them (after `running`). */
  private readonly queue: AheadQueue<Running>;
  /**
   * The running subtask's deadline (or, for one cancelled while queued, its grace): one timer per
   * agent, re-armed with `refresh()` when the next subtask has the same limit, not one per subtask.
   */
  private deadline: { timer: NodeJS.Timeout; ms: number } | undefined;
  private readonly onTimer = (): void => {
    const running = this.running;
    if (running === undefined) return;
    if (running.taking?.why === 'cancel') this.onCancelGrace(running);
    else this.onDeadline(running, running.deadlineMs);
  };
  /** The agent is failing or gone: nothing queued is started any more. */
  private ending = false;
  /** The last subtask that ended, to tell a late message from a forged one. */
  private lastEnded: Running | undefined;
  private stopping: Promise<void> | undefined;
  private readonly unwatch: () => void;
  private lastSample: UsageSample | undefined;
  private busyMs = 0;

  constructor(private readonly o: AgentOptions) {
    this.instance = o.instance;
    this.id = o.instance.id;
    this.concurrency = o.instance.plugin.concurrency ?? 1;
    this.queue = new AheadQueue({
      send: (subtaskId, why, reason) => this.o.connection.send(why === 'cancel' ? { type: 'cancel', subtaskId, reason } : { type: 'unqueue', subtaskId }),
      running: () => (this.running === undefined || this.ending ? undefined : { id: this.running.subtask.id, ms: Date.now() - this.running.startedAt }),
    });
    o.connection.messages({ message: (m) => this.onMessage(m), violation: (e) => this.fail(e, 'protocol violation') });
    // An agent on another host (a worker) is watched there: its samples come over the connection.
    this.unwatch = o.connection.pid === undefined ? (o.connection.usage?.((s) => this.onSample(s)) ?? (() => undefined)) : o.monitor.watch({
      agentId: this.id,
      pid: o.connection.pid,
      maxMemoryMB: this.instance.specification.resourceLimits.maxMemoryMB,
      baselineMB: o.connection.baselineMB,
      // A cgroup CPU cap throttles; only without one is a CPU cap enforced by stopping the agent.
      ...(this.instance.specification.resourceLimits.maxCpuPercent === undefined || this.instance.layers.includes('cgroup:cpu')
        ? {}
        : { maxCpuPercent: this.instance.specification.resourceLimits.maxCpuPercent }),
      ...(this.instance.layers.includes('disk-watchdog') ? { disk: { path: this.instance.workspace, maxBytes: this.maxDiskMB * 1024 * 1024 } } : {}),
      onSample: (s) => this.onSample(s),
      onLimit: (kind, s) => this.onLimit(kind, s),
    });
    o.connection.ended.then((end) => this.onEnd(end)).catch(() => undefined);
    this.setStatus(this.instance.status);
  }

  /** The workspace size the agent is held to, MB. */
  private get maxDiskMB(): number {
    return this.instance.specification.resourceLimits.maxDiskMB ?? DEFAULT_MAX_DISK_MB;
  }

  get status(): SubAgentStatus {
    return this.instance.status;
  }

  /** The OS process monitored for this agent; 0 where none runs on this host (in-memory, remote). */
  get pid(): number {
    return this.o.connection.pid ?? 0;
  }

  get alive(): boolean {
    return this.o.connection.alive;
  }

  /** Subtasks running on the agent now (on a reentrant agent, with those past their deadline that have not returned yet: they hold a place in the child). */
  get runningCount(): number {
    return (this.running === undefined ? 0 : 1) + this.alongside.length + this.expiring.size;
  }

  /** Runs one subtask with its resolved inputs on an idle agent; the deadline is min(maxDuration, maxExecutionTimeMs). */
  async execute(subtask: SubTask, inputs: Record<string, unknown>, attempt = 1): Promise<Result<SubtaskOutcome, QiError>> {
    if (this.running !== undefined) return this.notReady(subtask);
    const outcome = await this.run(subtask, inputs, attempt);
    return outcome === NOT_STARTED ? this.notReady(subtask) : outcome;
  }

  /**
   * Runs one subtask: at once on an idle agent, or sent ahead to one that runs another (see
   * {@link SubAgent.canTakeAhead}), where it starts the moment the one before it ends, with its
   * deadline counted from then. A subtask sent ahead may come back {@link NOT_STARTED}.
   */
  run(subtask: SubTask, inputs: Record<string, unknown>, attempt = 1): Promise<AttemptOutcome> {
    if (this.concurrency > 1) return this.runAlongside(subtask, inputs, attempt);
    const ahead = this.running !== undefined;
    // An agent that is ending between its lease and this call never started the subtask.
    if (ahead && (this.ending || this.instance.status !== 'executing')) return Promise.resolve(NOT_STARTED);
    if (!ahead && this.instance.status !== 'ready') return this.notReady(subtask);
    const limits = this.instance.specification.resourceLimits;
    const deadlineMs = Math.min(subtask.executionConstraints.maxDuration ?? Infinity, limits.maxExecutionTimeMs);
    return new Promise((resolve) => {
      const running: Running = { subtask, deadlineMs, endedByCoordinator: false, startedAt: Date.now(), settle: resolve };
      if (ahead) this.queue.push(running);
      else this.begin(running);
      // One sent ahead may wait for the end of the turn: the agent is busy until then anyway.
      this.o.connection.send(
        {
          type: 'execute',
          subtask: {
            id: subtask.id,
            parentTaskId: subtask.parentTaskId ?? '',
            description: subtask.description,
            expectedOutputs: subtask.expectedOutputs,
            attempt,
          },
          inputs,
        },
        ahead,
      );
    });
  }

  /**
   * A reentrant agent: the subtask begins at once beside those running, each with its own
   * deadline timer (the child runs up to `concurrency` at once; the run leases no more).
   */
  private runAlongside(subtask: SubTask, inputs: Record<string, unknown>, attempt: number): Promise<AttemptOutcome> {
    // An agent that is ending between its lease and this call never started the subtask.
    if (this.ending || (this.instance.status !== 'ready' && this.instance.status !== 'executing')) return Promise.resolve(NOT_STARTED);
    if (this.runningCount >= this.concurrency) return this.notReady(subtask);
    const limits = this.instance.specification.resourceLimits;
    const deadlineMs = Math.min(subtask.executionConstraints.maxDuration ?? Infinity, limits.maxExecutionTimeMs);
    return new Promise((resolve) => {
      const running: Running = { subtask, deadlineMs, endedByCoordinator: false, startedAt: Date.now(), settle: resolve };
      if (this.running === undefined) this.running = running;
      else this.alongside.push(running);
      if (this.instance.status !== 'executing') this.setStatus('executing');
      assign(this.instance, subtask);
      running.timer = setTimeout(() => this.onDeadline(running, deadlineMs), deadlineMs);
      this.o.connection.send({
        type: 'execute',
        subtask: { id: subtask.id, parentTaskId: subtask.parentTaskId ?? '', description: subtask.description, expectedOutputs: subtask.expectedOutputs, attempt },
        inputs,
      });
    });
  }

  private notReady(subtask: SubTask): Promise<Result<SubtaskOutcome, QiError>> {
    return Promise.resolve(failure(qiError('INTERNAL', `agent ${this.id} is ${this.instance.status}, not ready for subtask '${subtask.id}'`, { agentId: this.id })));
  }

  /** `running` begins on the agent: its deadline counts from now. A queued one the run cancelled gets only killGraceMs (its plugin was told). */
  private begin(running: Running): void {
    running.startedAt = Date.now();
    this.running = running;
    if (this.instance.status !== 'executing') this.setStatus('executing');
    assign(this.instance, running.subtask);
    const ms = running.taking?.why === 'cancel' ? this.o.killGraceMs : running.deadlineMs;
    if (this.deadline?.ms === ms) this.deadline.timer.refresh();
    else {
      clearTimeout(this.deadline?.timer);
      this.deadline = { timer: setTimeout(this.onTimer, ms), ms };
    }
  }

  /**
   * Whether a subtask may be sent ahead to this agent now, once it is leased (how many, the run
   * decides): it is an agent on this host whose running subtask, if it has begun, began under
   * {@link PREFETCH_BELOW_MS} ago and waits on no other subtask, and its subtasks so far averaged
   * under that too. (The child runtime of an agent on another host's
   * worker is relayed one subtask at a time.)
   */
  canTakeAhead(now: number): boolean {
    const head = this.running;
    if (this.ending || this.concurrency > 1 || this.o.connection.pid === undefined || (head !== undefined && (now - head.startedAt >= PREFETCH_BELOW_MS || (head.blocked ?? 0) > 0))) return false;
    const m = this.instance.performanceMetrics;
    return m.tasksCompleted > 0 && this.busyMs < PREFETCH_BELOW_MS * (m.tasksCompleted + m.errorCount);
  }

  /**
   * How many subtasks this agent should hold ahead, at most `max`: about {@link PREFETCH_BELOW_MS}
   * of work by its average so far (all of `max` for subtasks too short to time), so what waits in
   * its queue is never much more than that, whatever `max` is.
   */
  aheadDepth(max: number): number {
    const m = this.instance.performanceMetrics;
    const done = m.tasksCompleted + m.errorCount;
    if (done === 0 || this.busyMs === 0) return max;
    return Math.max(1, Math.min(max, Math.floor((PREFETCH_BELOW_MS * done) / this.busyMs)));
  }

  /** Subtasks sent ahead and not started. */
  get queued(): number {
    return this.queue.size;
  }

  /** Asks the running subtask (on a reentrant agent: the one named) to stop (its ctx.signal aborts); the plugin decides what it returns. */
  cancel(reason: string, subtaskId?: string): void {
    const running = subtaskId === undefined ? this.running : this.runningNamed(subtaskId);
    if (running !== undefined) this.o.connection.send({ type: 'cancel', subtaskId: running.subtask.id, reason });
  }

  /** Whether the subtask runs on this agent now. */
  runs(subtaskId: string): boolean {
    return this.runningNamed(subtaskId) !== undefined;
  }

  /** The running subtask of that id (among those running at once on a reentrant agent). */
  private runningNamed(subtaskId: string): Running | undefined {
    if (this.running?.subtask.id === subtaskId) return this.running;
    return this.alongside.find((r) => r.subtask.id === subtaskId);
  }

  /**
   * Cancels a subtask sent ahead to this agent: true when it is queued here (it comes back
   * {@link NOT_STARTED}, or, had it begun, its plugin sees ctx.signal abort and gets
   * killGraceMs); false when it is not queued here.
   */
  cancelQueued(subtaskId: string, reason: string): boolean {
    return this.queue.cancel(subtaskId, reason);
  }

  /** Stops the agent (graceful unless `immediate`) and waits for the process to be gone. */
  async terminate(reason: string, status: 'terminated' | 'completed' = 'terminated', immediate = false): Promise<void> {
    this.record(status, reason);
    await this.stop(reason, immediate);
  }

  /** Resolves once the agent's process is gone. */
  get exited(): Promise<void> {
    return this.o.connection.ended.then(() => undefined);
  }

  /** Pushes a direct or topic message into the agent (its ctx.messages() / ctx.subscribe()). */
  deliver(delivery: { stream: 'direct' | 'topic'; topic?: string; from: string; body: unknown }): void {
    this.o.connection.send({ type: 'deliver', stream: delivery.stream, from: delivery.from, body: delivery.body, ...(delivery.topic === undefined ? {} : { topic: delivery.topic }) });
  }

  /** Runs `fn` right before any message is written to the agent (AgentConnection.beforeWrite); replaces an earlier one. */
  beforeWrite(fn: () => void): void {
    this.o.connection.beforeWrite?.(fn);
  }

  /** Replaces the coordination services (coordinateAgents attaches sync points to running agents). */
  setCoordination(services: Pick<AgentServices, 'sync' | 'channel' | 'delegate'>): void {
    this.o.services.sync = services.sync;
    this.o.services.channel = services.channel;
    this.o.services.delegate = services.delegate;
  }

  /** SIGKILLs the process group synchronously (the coordinator's process-exit hook). */
  killNow(): void {
    this.o.connection.kill();
  }

  private stop(reason: string, immediate: boolean): Promise<void> {
    this.stopping ??= this.o.connection.stop(reason, this.o.killGraceMs, immediate).then(() => undefined);
    return this.stopping;
  }

  /** Records the end status once; later reasons are ignored (the first wins). */
  private record(status: SubAgentStatus, reason: string): void {
    if (END_STATUSES.has(this.instance.status)) return;
    this.instance.endReason ??= reason;
    this.setStatus(status, reason);
  }

  private setStatus(status: SubAgentStatus, reason?: string): void {
    this.instance.status = status;
    this.instance.lastActivity = new Date();
    this.o.onEvent({ type: 'status', agentId: this.id, agentType: this.instance.specification.agentType, plugin: this.instance.plugin.name, status, ...(reason === undefined ? {} : { reason }) });
  }

  /**
   * Fails the running subtask (or `culprit`, on a reentrant agent) with `error`, then stops the
   * agent; what was queued comes back unstarted. Subtasks running beside it on a reentrant agent
   * fail too: `error` itself when the culprit is not known (the agent's memory; `null`: none of
   * them), else as stopped with the agent.
   */
  private fail(error: QiError, reason: string, immediate = false, culprit: Running | null | undefined = this.running): void {
    if (culprit) culprit.endedByCoordinator = true;
    this.ending = true;
    this.clearExpiring();
    if (this.alongside.length > 0 || (culprit ?? undefined) !== this.running) this.failBeside(culprit ?? undefined, error, reason);
    if (culprit !== null) this.finish(failure(error), culprit);
    this.queue.returnAll();
    this.record('failed', `${reason}: ${error.code}`);
    void this.stop(reason, immediate);
  }

  /** The child confirmed it dropped a queued subtask the coordinator asked back; anything else is a forged identity. */
  private onUnqueued(named: string): void {
    if (!this.queue.confirm(named)) this.bind('unqueued', named);
  }

  private finish(result: Result<SubtaskOutcome, QiError>, running = this.running): void {
    if (running === undefined) return;
    if (running === this.running) this.running = undefined;
    else {
      const at = this.alongside.indexOf(running);
      if (at < 0) return;
      this.alongside.splice(at, 1);
    }
    this.lastEnded = running;
    running.abort?.abort(SUBTASK_ENDED);
    if (running.timer !== undefined) clearTimeout(running.timer);
    const elapsed = Date.now() - running.startedAt;
    this.busyMs += elapsed;
    const m = this.instance.performanceMetrics;
    if (result.tag === 'success') m.tasksCompleted++;
    else m.errorCount++;
    const done = m.tasksCompleted + m.errorCount;
    m.successRate = m.tasksCompleted / done;
    m.averageExecutionTime = this.busyMs / done;
    this.refreshUsage();
    if (this.concurrency > 1) {
      // The longest running of the others is the one the agent's messages name first.
      this.running ??= this.alongside.shift();
      if (this.running === undefined && this.instance.status === 'executing') this.setStatus('ready');
      running.settle(result);
      return;
    }
    // The next one sent ahead begins now (the child started it right after this one's end).
    const next = this.ending ? undefined : this.queue.shift();
    if (next !== undefined) this.begin(next);
    else {
      clearTimeout(this.deadline?.timer);
      this.deadline = undefined;
      if (this.instance.status === 'executing') this.setStatus('ready');
    }
    running.settle(result);
  }

  /** The agent is ending: the late subtasks' graces no longer matter. */
  private clearExpiring(): void {
    for (const timer of this.expiring.values()) clearTimeout(timer);
    this.expiring.clear();
  }

  /** The agent stops: every subtask running beside `culprit` ends with it (see {@link SubAgent.fail}). */
  private failBeside(culprit: Running | undefined, error: QiError, reason: string): void {
    const known = culprit !== undefined && (error.code === 'TIME_LIMIT' || error.code === 'TOOL_BUDGET' || error.code === 'FILE_OP_BUDGET');
    for (const other of [this.running, ...this.alongside]) {
      if (other === undefined || other === culprit) continue;
      other.endedByCoordinator = true;
      const stopped = qiError('AGENT_CRASHED', `agent ${this.id} was stopped (${reason}: ${error.code}${culprit === undefined ? '' : `, subtask '${culprit.subtask.id}'`}) while subtask '${other.subtask.id}' ran on it beside others`, {
        agentId: this.id,
        subtaskId: other.subtask.id,
        cause: error.code,
      });
      this.finish(failure(known ? stopped : { ...error, context: { ...error.context, subtaskId: other.subtask.id } }), other);
    }
  }

  private onCancelGrace(running: Running): void {
    if (this.running !== running) return;
    this.fail(
      qiError('CANCELLED', `subtask '${running.subtask.id}' on agent ${this.id} was cancelled (${running.taking?.reason ?? 'cancelled'}) and did not return within killGraceMs ${this.o.killGraceMs}; the agent was stopped`, {
        agentId: this.id,
        subtaskId: running.subtask.id,
      }),
      'cancelled',
      true,
    );
  }

  private onDeadline(running: Running, deadlineMs: number): void {
    if (this.running !== running && !this.alongside.includes(running)) return;
    const id = running.subtask.id;
    this.o.connection.send({ type: 'cancel', subtaskId: id, reason: 'deadline passed' });
    const error = qiError('TIME_LIMIT', `subtask '${id}' on agent ${this.id} ran past its ${deadlineMs} ms limit (maxDuration / maxExecutionTimeMs) and was stopped`, {
      agentId: this.id,
      subtaskId: id,
      limitMs: deadlineMs,
    });
    if (this.concurrency === 1) {
      this.fail(error, 'deadline');
      return;
    }
    // A reentrant agent runs others beside it: the late one ends now, its plugin told
    // (ctx.signal); only if its call has not returned after killGraceMs is the agent stopped.
    running.endedByCoordinator = true;
    this.expiring.set(
      id,
      setTimeout(() => {
        this.expiring.delete(id);
        const stuck = qiError('AGENT_CRASHED', `agent ${this.id} was stopped: subtask '${id}' did not return within killGraceMs ${this.o.killGraceMs} after its ${deadlineMs} ms limit`, { agentId: this.id, late: id, cause: 'TIME_LIMIT' });
        this.fail(stuck, 'deadline', false, null);
      }, this.o.killGraceMs),
    );
    this.finish(failure(error), running);
  }

  private onLimit(kind: LimitKind, sample: UsageSample): void {
    const limits = this.instance.specification.resourceLimits;
    const subtaskId = this.running?.subtask.id;
    const where =
      subtaskId === undefined ? `agent ${this.id}` : this.alongside.length > 0 ? `agent ${this.id} (running ${this.runningCount} subtasks)` : `subtask '${subtaskId}' on agent ${this.id}`;
    const errors: Record<LimitKind, () => QiError> = {
      memory: () =>
        qiError('MEMORY_LIMIT', `${where} used ${Math.round(sample.rssMB - this.o.connection.baselineMB)} MB over its runtime's ${Math.round(this.o.connection.baselineMB)} MB, more than maxMemoryMB ${limits.maxMemoryMB}; it was killed`, {
          agentId: this.id,
          subtaskId,
          limitMB: limits.maxMemoryMB,
          rssMB: sample.rssMB,
          peakRssMB: sample.peakRssMB,
          baselineMB: this.o.connection.baselineMB,
        }),
      cpu: () =>
        qiError('CPU_LIMIT', `${where} used ${Math.round(sample.cpuWindowPercent ?? 0)}% CPU, more than maxCpuPercent ${limits.maxCpuPercent}; it was stopped`, {
          agentId: this.id,
          subtaskId,
          limitPercent: limits.maxCpuPercent,
          cpuPercent: sample.cpuWindowPercent,
        }),
      disk: () => {
        // Over its bytes, or (the walk stops one entry past the cap) over sandbox.maxWorkspaceEntries.
        const overBytes = (sample.diskMB ?? 0) > this.maxDiskMB;
        const limitEntries = (sample.diskEntries ?? 1) - 1;
        const what = overBytes
          ? `${Math.round(sample.diskMB ?? 0)} MB in its workspace, more than maxDiskMB ${this.maxDiskMB}`
          : `more than ${limitEntries} files and folders in its workspace (sandbox.maxWorkspaceEntries)`;
        return qiError('DISK_LIMIT', `${where} holds ${what}; it was killed`, {
          agentId: this.id,
          subtaskId,
          diskMB: sample.diskMB,
          ...(overBytes ? { limitMB: this.maxDiskMB } : { limitEntries }),
        });
      },
    };
    this.fail(errors[kind](), `${kind} limit`, kind !== 'cpu');
  }

  private onSample(sample: UsageSample): void {
    this.lastSample = sample;
    this.refreshUsage();
    this.o.onEvent({ type: 'usage', agentId: this.id, sample });
  }

  private refreshUsage(): void {
    const tools = this.o.services.toolUsage();
    const running = this.running === undefined ? 0 : Date.now() - this.running.startedAt;
    this.instance.resourceUsage = {
      memoryMB: this.lastSample?.rssMB ?? this.o.connection.baselineMB,
      executionTimeMs: this.busyMs + running,
      toolCalls: tools.toolCalls,
      networkRequests: tools.networkRequests,
      fileOperations: tools.fileOperations,
      ...(this.lastSample?.cpuWindowPercent === undefined ? {} : { cpuPercent: this.lastSample.cpuWindowPercent }),
    };
  }

  /** The last peak RSS seen by the monitor. */
  get peakRssMB(): number {
    return this.lastSample?.peakRssMB ?? this.o.connection.baselineMB;
  }

  /** The agent ended: the running subtask (if any) fails with what ended it, and the end is recorded. */
  private onEnd(end: AgentEnd): void {
    this.unwatch();
    this.ending = true;
    this.clearExpiring();
    const { exitCode, signal } = end;
    const limits = this.instance.specification.resourceLimits;
    const cause = end.reason === 'lost' ? 'lost' : exitCause({
      exitCode,
      signal,
      stderrTail: end.stderrTail,
      peakRssMB: this.peakRssMB,
      baselineMB: this.o.connection.baselineMB,
      limitMB: limits.maxMemoryMB,
      oomKilled: end.oomKilled ?? false,
    });
    if (this.running !== undefined) {
      const subtaskId = this.running.subtask.id;
      const context = { agentId: this.id, subtaskId, peakRssMB: this.peakRssMB, exitCode, signal };
      const errors = {
        lost: () => qiError('WORKER_LOST', `agent ${this.id} was lost during subtask '${subtaskId}' (its worker or connection went away)`, context),
        memory: () => qiError('MEMORY_LIMIT', `subtask '${subtaskId}' on agent ${this.id} ran out of memory (maxMemoryMB ${limits.maxMemoryMB}: heap cap, kernel data cap or OOM killer); the agent died`, { ...context, limitMB: limits.maxMemoryMB }),
        disk: () => qiError('DISK_LIMIT', `subtask '${subtaskId}' on agent ${this.id} wrote a file past maxDiskMB ${this.maxDiskMB}; the agent died`, { ...context, limitMB: this.maxDiskMB }),
        crash: () => qiError('AGENT_CRASHED', `agent ${this.id} exited during subtask '${subtaskId}' (exit code ${exitCode}, signal ${signal})`, context),
      };
      const error = errors[cause]();
      // Subtasks running beside it on a reentrant agent end with the agent too.
      for (const other of [...this.alongside]) this.finish(failure({ ...error, context: { ...error.context, subtaskId: other.subtask.id } }), other);
      this.finish(failure(error));
      this.queue.returnAll();
      this.record('failed', cause === 'crash' ? 'crashed' : cause === 'lost' ? 'lost' : `${cause} limit`);
    } else {
      this.record(cause === 'crash' || cause === 'lost' ? 'terminated' : 'failed', cause === 'lost' ? 'lost' : `process exited (exit code ${exitCode}, signal ${signal})`);
    }
    void this.o.onExit(this);
  }

  private onMessage(m: ChildMessage): void {
    this.instance.lastActivity = new Date();
    switch (m.type) {
      case 'hello':
      case 'ready':
      case 'init-failed':
        this.fail(qiError('INVALID_MESSAGE', `agent ${this.id} sent '${m.type}' after start-up; it was stopped`, { agentId: this.id, type: m.type }), 'protocol violation');
        return;
      case 'audit': {
        const written = this.o.connection.log.write('warn', { audit: m.kind, action: m.action, detail: m.detail }, `agent ${this.id}: ${m.kind} access ${m.action}`);
        // Audit records past the log cap leave the event stream too (the CLI prints audit events).
        if (written) this.o.onEvent({ type: 'audit', agentId: this.id, kind: m.kind, action: m.action, detail: m.detail });
        return;
      }
      case 'log':
        if (m.subtaskId === undefined) this.writeLog(m, undefined);
        else if (this.bind(m.type, m.subtaskId) !== undefined) this.writeLog(m, m.subtaskId);
        return;
      case 'unqueued':
        this.onUnqueued(m.subtaskId);
        return;
      default:
        this.onSubtaskMessage(m);
    }
  }

  /** A message about the running subtask: checked by {@link SubAgent.bind}, then acted on for the subtask the coordinator knows. */
  private onSubtaskMessage(m: SubtaskMessage): void {
    const running = this.bind(m.type, m.subtaskId);
    if (running === undefined) return;
    const subtaskId = running.subtask.id;
    switch (m.type) {
      case 'result':
        this.onResult(running, m.outputs);
        return;
      case 'error':
        if (m.error.code === 'MEMORY_LIMIT' || m.error.code === 'DISK_LIMIT') {
          // The kernel cap refused an allocation: the limit is crossed, the agent goes.
          const limits = this.instance.specification.resourceLimits;
          const disk = m.error.code === 'DISK_LIMIT';
          const context = disk ? { limitMB: this.maxDiskMB } : { limitMB: limits.maxMemoryMB, peakRssMB: this.peakRssMB };
          this.fail({ ...(m.error as QiError), context: { ...m.error.context, agentId: this.id, ...context } }, disk ? 'disk limit' : 'memory limit', true, running);
        } else this.finish(failure(m.error as QiError), running);
        return;
      case 'progress':
        this.o.onEvent({ type: 'progress', agentId: this.id, subtaskId, fraction: m.fraction, ...(m.note === undefined ? {} : { note: m.note }) });
        return;
      case 'tool-call':
        void this.onToolCall(running, m);
        return;
      case 'sync-arrive':
        this.blockedOn(running);
        void this.reply('sync-release', m.callId, this.o.services.sync?.(this, subtaskId, m.pointId, m.value) ?? this.unavailable('synchronization points'), running);
        return;
      case 'channel': {
        const { subtaskId: _claimed, [BRAND]: _brand, ...request } = m;
        const blocking = request.op === 'queue-pull';
        if (blocking) this.blockedOn(running);
        void this.reply('channel-reply', m.callId, this.o.services.channel?.(this, subtaskId, request) ?? this.unavailable('channels'), blocking ? running : undefined);
        return;
      }
      case 'delegate': {
        const delegate = this.o.services.delegate;
        this.blockedOn(running);
        if (delegate === undefined) void this.reply('delegate-result', m.callId, this.unavailable('sub-agents (ctx.delegate)'), running);
        else
          delegate(this, subtaskId, m.requests, (result) => {
            this.unblocked(running);
            this.answer('delegate-result', m.callId, result);
          });
        return;
      }
    }
  }

  /**
   * The identity check of a message that names a subtask: it must name the subtask this agent is
   * running (on a reentrant agent: one of those it runs), and then that subtask (as the
   * coordinator knows it) is returned; the child's id is never used further. Anything else is a forged identity, which fails the agent
   * (`INVALID_MESSAGE`) and returns undefined, except one legitimate race, dropped silently:
   * the coordinator ended the agent's last subtask itself (deadline, limit, budget, violation)
   * and the child, not told yet, was still talking for it. That agent is being stopped, so
   * nothing it sends has an effect any more. A subtask the child ended itself (its result or
   * error) gets no late messages from an honest child: the sandbox's `ctx` stops sending for a
   * subtask once it has ended, and the channel keeps the child's order.
   */
  private bind(type: ChildMessage['type'], named: string): Running | undefined {
    const found = this.runningNamed(named);
    if (found !== undefined) return found;
    const running = this.running;
    if (this.concurrency > 1) {
      const expiring = this.expiring.get(named);
      if (expiring !== undefined) {
        // Ended at its deadline: what it still says is dropped; its end frees its place in the child.
        if (type === 'result' || type === 'error') {
          clearTimeout(expiring);
          this.expiring.delete(named);
        }
        return undefined;
      }
      // Several subtasks ended with the agent: it is being stopped, and nothing it sends has an effect any more.
      if (this.ending) return undefined;
    }
    const last = this.lastEnded;
    if (running === undefined && last !== undefined && last.endedByCoordinator && last.subtask.id === named) {
      this.o.connection.log.write('debug', { type, subtaskId: named }, `late '${type}' for subtask '${named}' dropped: the coordinator had already ended it`);
      return undefined;
    }
    const now = running === undefined ? 'runs no subtask' : `runs subtask '${running.subtask.id}'`;
    this.fail(
      qiError('INVALID_MESSAGE', `agent ${this.id} sent a '${type}' message naming subtask '${named}' but ${now}; an agent speaks only for its own subtask; it was stopped`, {
        agentId: this.id,
        type,
        named,
        ...(running === undefined ? {} : { subtaskId: running.subtask.id }),
      }),
      'protocol violation',
    );
    return undefined;
  }

  /** A `ctx.log` record, through the agent's log budget; the plugin's data is nested, so it cannot forge the record's own keys. */
  private writeLog(m: Extract<ChildMessage, { type: 'log' }>, subtaskId: string | undefined): void {
    this.o.connection.log.write(m.level, { ...(subtaskId === undefined ? {} : { subtaskId }), fromAgent: true, ...(m.data === undefined ? {} : { data: m.data }) }, m.msg);
  }

  private unavailable(what: string): Promise<Result<unknown, QiError>> {
    return Promise.resolve(failure(qiError('NOT_FOUND', `${what} are only available to agents run by the execution engine`, { agentId: this.id })));
  }

  private async reply(type: 'tool-result' | 'sync-release' | 'channel-reply' | 'delegate-result', callId: number, pending: Promise<Result<unknown, QiError>>, blocked?: Running): Promise<void> {
    const result = await pending;
    if (blocked !== undefined) this.unblocked(blocked);
    this.answer(type, callId, result);
  }

  /**
   * The running subtask waits on a call other subtasks may have to answer (a sync point, its
   * delegated children, a queue pull): what is queued behind it is taken back at once (it may be
   * what the call waits for), and nothing is sent ahead to this agent until the call returns.
   */
  private blockedOn(running: Running): void {
    running.blocked = (running.blocked ?? 0) + 1;
    if (this.queue.size > 0) this.queue.takeBack(`subtask '${running.subtask.id}' ahead of it waits on other subtasks`);
  }

  private unblocked(running: Running): void {
    if (running.blocked !== undefined) running.blocked--;
  }

  private answer(type: 'tool-result' | 'sync-release' | 'channel-reply' | 'delegate-result', callId: number, result: Result<unknown, QiError>): void {
    this.o.connection.send({ type, callId, result: result.tag === 'success' ? { tag: 'success', value: result.value ?? null } : result });
  }

  private async onToolCall(running: Running, m: Extract<ChildMessage, { type: 'tool-call' }>): Promise<void> {
    const startedAt = Date.now();
    const subtaskId = running.subtask.id;
    const pending = this.o.services.tool(this, subtaskId, m.name, m.args, (running.abort ??= new AbortController()).signal);
    await this.reply('tool-result', m.callId, pending);
    const result = await pending;
    this.refreshUsage();
    this.o.onEvent({ type: 'tool', agentId: this.id, subtaskId, name: m.name, ok: result.tag === 'success', startedAt, endedAt: Date.now() });
    if (result.tag === 'failure' && (result.error.category === 'AUTHORIZATION' || REFUSAL_CODES.has(result.error.code))) {
      // The broker's refusals are logged here, so that they count against the agent's log budget.
      this.o.connection.log.write('warn', { component: 'tool-broker', subtaskId, tool: m.name, code: result.error.code }, result.error.message);
    }
    if (result.tag === 'failure' && (result.error.code === 'TOOL_BUDGET' || result.error.code === 'FILE_OP_BUDGET')) {
      // A spent budget is enforced even if the plugin swallows the error.
      this.fail(result.error, 'budget spent', false, running);
    }
  }

  private onResult(running: Running, outputs: Record<string, unknown>): void {
    const subtaskId = running.subtask.id;
    const missing = running.subtask.expectedOutputs.map((o) => o.name).filter((name) => !Object.hasOwn(outputs, name));
    if (missing.length > 0) {
      this.finish(
        failure(
          qiError('AGENT_ERROR', `subtask '${subtaskId}' did not return its declared output${missing.length > 1 ? 's' : ''} ${missing.map((n) => `'${n}'`).join(', ')}`, {
            agentId: this.id,
            subtaskId,
            missing,
            returned: Object.keys(outputs),
          }),
        ),
        running,
      );
      return;
    }
    this.finish(success({ outputs, startedAt: running.startedAt, endedAt: Date.now() }), running);
  }
}
