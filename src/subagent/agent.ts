import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Logger } from 'pino';
import { qiError } from '../errors/catalogue.js';
import type { ChildMessage } from '../protocol/messages.js';
import type { SubTask } from '../schemas/task.js';
import type { SubAgentInstance, SubAgentStatus } from './instance.js';
import type { LimitKind, ResourceMonitor, UsageSample } from './monitor.js';
import { exitCause } from './exit-cause.js';
import { DEFAULT_MAX_DISK_MB } from './launch.js';
import type { StartedProcess } from './start.js';

/** The coordinator-side services an agent's messages reach (tools here; sync and channels from the engine). */
export interface AgentServices {
  tool(agent: SubAgent, subtaskId: string, name: string, args: unknown, signal: AbortSignal): Promise<Result<unknown, QiError>>;
  sync?: ((agent: SubAgent, subtaskId: string, pointId: string, value: unknown) => Promise<Result<unknown, QiError>>) | undefined;
  channel?: ((agent: SubAgent, message: Extract<ChildMessage, { type: 'channel' }>) => Promise<Result<unknown, QiError>>) | undefined;
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
  readonly started: StartedProcess;
  readonly monitor: ResourceMonitor;
  readonly services: AgentServices;
  readonly logger: Logger;
  readonly killGraceMs: number;
  readonly onEvent: (event: AgentEvent) => void;
  /** True when the kernel's OOM killer killed a process of the agent's cgroup (where it has one). */
  readonly oomKilled?: () => boolean;
  /** Called once the process is gone (release workspace, budget, …). */
  readonly onExit: (agent: SubAgent) => Promise<void>;
}

/** What one subtask produced. */
export interface SubtaskOutcome {
  readonly outputs: Record<string, unknown>;
  readonly startedAt: number;
  readonly endedAt: number;
}

interface Running {
  readonly subtask: SubTask;
  readonly abort: AbortController;
  readonly startedAt: number;
  settle(r: Result<SubtaskOutcome, QiError>): void;
  timer?: NodeJS.Timeout;
}

/** One reason for every ended subtask's abort signal (building a DOMException per subtask is costly). */
const SUBTASK_ENDED = new Error('subtask ended');
const END_STATUSES: ReadonlySet<SubAgentStatus> = new Set(['completed', 'failed', 'terminated']);

/**
 * A live SubAgent: the real process, its enforced limits and its lifecycle. One subtask runs at
 * a time. A crossed limit stops the process and fails the running subtask with the limit's error;
 * the agent's end is recorded once, with the first reason.
 */
export class SubAgent {
  readonly id: string;
  readonly instance: SubAgentInstance;
  private running: Running | undefined;
  private stopping: Promise<void> | undefined;
  private readonly unwatch: () => void;
  private lastSample: UsageSample | undefined;
  private busyMs = 0;

  constructor(private readonly o: AgentOptions) {
    this.instance = o.instance;
    this.id = o.instance.id;
    o.started.route({ message: (m) => this.onMessage(m), violation: (e) => this.fail(e, 'protocol violation') });
    this.unwatch = o.monitor.watch({
      agentId: this.id,
      pid: o.started.nodePid,
      maxMemoryMB: this.instance.specification.resourceLimits.maxMemoryMB,
      baselineMB: o.started.baselineMB,
      // A cgroup CPU cap throttles; only without one is a CPU cap enforced by stopping the agent.
      ...(this.instance.specification.resourceLimits.maxCpuPercent === undefined || this.instance.layers.includes('cgroup:cpu')
        ? {}
        : { maxCpuPercent: this.instance.specification.resourceLimits.maxCpuPercent }),
      ...(this.instance.layers.includes('disk-watchdog') ? { disk: { path: this.instance.workspace, maxBytes: this.maxDiskMB * 1024 * 1024 } } : {}),
      onSample: (s) => this.onSample(s),
      onLimit: (kind, s) => this.onLimit(kind, s),
    });
    o.started.process.exited.then((info) => this.onExit(info.exitCode, info.signal)).catch(() => undefined);
    this.setStatus(this.instance.status);
  }

  /** The workspace size the agent is held to, MB. */
  private get maxDiskMB(): number {
    return this.instance.specification.resourceLimits.maxDiskMB ?? DEFAULT_MAX_DISK_MB;
  }

  get status(): SubAgentStatus {
    return this.instance.status;
  }

  get pid(): number {
    return this.o.started.nodePid;
  }

  get alive(): boolean {
    return this.o.started.process.alive;
  }

  /** Runs one subtask with its resolved inputs; the deadline is min(maxDuration, maxExecutionTimeMs). */
  execute(subtask: SubTask, inputs: Record<string, unknown>, attempt = 1): Promise<Result<SubtaskOutcome, QiError>> {
    if (this.instance.status !== 'ready') {
      return Promise.resolve(failure(qiError('INTERNAL', `agent ${this.id} is ${this.instance.status}, not ready for subtask '${subtask.id}'`, { agentId: this.id })));
    }
    const limits = this.instance.specification.resourceLimits;
    const deadlineMs = Math.min(subtask.executionConstraints.maxDuration ?? Infinity, limits.maxExecutionTimeMs);
    return new Promise((resolve) => {
      const running: Running = { subtask, abort: new AbortController(), startedAt: Date.now(), settle: resolve };
      this.running = running;
      this.setStatus('executing');
      this.instance.assignedTasks.push(subtask);
      running.timer = setTimeout(() => this.onDeadline(running, deadlineMs), deadlineMs);
      this.o.started.process.channel.send({
        type: 'execute',
        subtask: {
          id: subtask.id,
          parentTaskId: subtask.parentTaskId ?? '',
          description: subtask.description,
          expectedOutputs: subtask.expectedOutputs,
          attempt,
        },
        inputs,
      });
    });
  }

  /** Stops the agent (graceful unless `immediate`) and waits for the process to be gone. */
  async terminate(reason: string, status: 'terminated' | 'completed' = 'terminated', immediate = false): Promise<void> {
    this.record(status, reason);
    await this.stop(reason, immediate);
  }

  /** Resolves once the agent's process is gone. */
  get exited(): Promise<void> {
    return this.o.started.process.exited.then(() => undefined);
  }

  /** Pushes a direct or topic message into the agent (its ctx.messages() / ctx.subscribe()). */
  deliver(delivery: { stream: 'direct' | 'topic'; topic?: string; from: string; body: unknown }): void {
    this.o.started.process.channel.send({ type: 'deliver', stream: delivery.stream, from: delivery.from, body: delivery.body, ...(delivery.topic === undefined ? {} : { topic: delivery.topic }) });
  }

  /** Replaces the coordination services (coordinateAgents attaches sync points to running agents). */
  setCoordination(services: Pick<AgentServices, 'sync' | 'channel'>): void {
    this.o.services.sync = services.sync;
    this.o.services.channel = services.channel;
  }

  /** SIGKILLs the process group synchronously (the coordinator's process-exit hook). */
  killNow(): void {
    this.o.started.process.signalGroup('SIGKILL');
  }

  private stop(reason: string, immediate: boolean): Promise<void> {
    this.stopping ??= this.o.started.process.stop(reason, this.o.killGraceMs, immediate).then(() => undefined);
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

  /** Fails the running subtask (if any) with `error`, then stops the agent. */
  private fail(error: QiError, reason: string, immediate = false): void {
    this.finish(failure(error));
    this.record('failed', `${reason}: ${error.code}`);
    void this.stop(reason, immediate);
  }

  private finish(result: Result<SubtaskOutcome, QiError>): void {
    const running = this.running;
    if (running === undefined) return;
    this.running = undefined;
    clearTimeout(running.timer);
    running.abort.abort(SUBTASK_ENDED);
    const elapsed = Date.now() - running.startedAt;
    this.busyMs += elapsed;
    const m = this.instance.performanceMetrics;
    if (result.tag === 'success') m.tasksCompleted++;
    else m.errorCount++;
    const done = m.tasksCompleted + m.errorCount;
    m.successRate = m.tasksCompleted / done;
    m.averageExecutionTime = this.busyMs / done;
    this.refreshUsage();
    if (this.instance.status === 'executing') this.setStatus('ready');
    running.settle(result);
  }

  private onDeadline(running: Running, deadlineMs: number): void {
    if (this.running !== running) return;
    this.o.started.process.channel.send({ type: 'cancel', subtaskId: running.subtask.id, reason: 'deadline passed' });
    this.fail(
      qiError('TIME_LIMIT', `subtask '${running.subtask.id}' on agent ${this.id} ran past its ${deadlineMs} ms limit (maxDuration / maxExecutionTimeMs) and was stopped`, {
        agentId: this.id,
        subtaskId: running.subtask.id,
        limitMs: deadlineMs,
      }),
      'deadline',
    );
  }

  private onLimit(kind: LimitKind, sample: UsageSample): void {
    const limits = this.instance.specification.resourceLimits;
    const subtaskId = this.running?.subtask.id;
    const where = subtaskId === undefined ? `agent ${this.id}` : `subtask '${subtaskId}' on agent ${this.id}`;
    const errors: Record<LimitKind, () => QiError> = {
      memory: () =>
        qiError('MEMORY_LIMIT', `${where} used ${Math.round(sample.rssMB - this.o.started.baselineMB)} MB over its runtime's ${Math.round(this.o.started.baselineMB)} MB, more than maxMemoryMB ${limits.maxMemoryMB}; it was killed`, {
          agentId: this.id,
          subtaskId,
          limitMB: limits.maxMemoryMB,
          rssMB: sample.rssMB,
          peakRssMB: sample.peakRssMB,
          baselineMB: this.o.started.baselineMB,
        }),
      cpu: () =>
        qiError('CPU_LIMIT', `${where} used ${Math.round(sample.cpuWindowPercent ?? 0)}% CPU, more than maxCpuPercent ${limits.maxCpuPercent}; it was stopped`, {
          agentId: this.id,
          subtaskId,
          limitPercent: limits.maxCpuPercent,
          cpuPercent: sample.cpuWindowPercent,
        }),
      disk: () =>
        qiError('DISK_LIMIT', `${where} holds ${Math.round(sample.diskMB ?? 0)} MB in its workspace, more than maxDiskMB ${this.maxDiskMB}; it was killed`, {
          agentId: this.id,
          subtaskId,
          limitMB: this.maxDiskMB,
          diskMB: sample.diskMB,
        }),
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
      memoryMB: this.lastSample?.rssMB ?? this.o.started.baselineMB,
      executionTimeMs: this.busyMs + running,
      toolCalls: tools.toolCalls,
      networkRequests: tools.networkRequests,
      fileOperations: tools.fileOperations,
      ...(this.lastSample?.cpuWindowPercent === undefined ? {} : { cpuPercent: this.lastSample.cpuWindowPercent }),
    };
  }

  /** The last peak RSS seen by the monitor. */
  get peakRssMB(): number {
    return this.lastSample?.peakRssMB ?? this.o.started.baselineMB;
  }

  private onExit(exitCode: number | null, signal: string | null): void {
    this.unwatch();
    const limits = this.instance.specification.resourceLimits;
    const cause = exitCause({
      exitCode,
      signal,
      stderrTail: this.o.started.process.stderrTail,
      peakRssMB: this.peakRssMB,
      baselineMB: this.o.started.baselineMB,
      limitMB: limits.maxMemoryMB,
      oomKilled: this.o.oomKilled?.() ?? false,
    });
    if (this.running !== undefined) {
      const subtaskId = this.running.subtask.id;
      const context = { agentId: this.id, subtaskId, peakRssMB: this.peakRssMB, exitCode, signal };
      const errors = {
        memory: () => qiError('MEMORY_LIMIT', `subtask '${subtaskId}' on agent ${this.id} ran out of memory (maxMemoryMB ${limits.maxMemoryMB}: heap cap, kernel data cap or OOM killer); the agent died`, { ...context, limitMB: limits.maxMemoryMB }),
        disk: () => qiError('DISK_LIMIT', `subtask '${subtaskId}' on agent ${this.id} wrote a file past maxDiskMB ${this.maxDiskMB}; the agent died`, { ...context, limitMB: this.maxDiskMB }),
        crash: () => qiError('AGENT_CRASHED', `agent ${this.id} exited during subtask '${subtaskId}' (exit code ${exitCode}, signal ${signal})`, context),
      };
      this.finish(failure(errors[cause]()));
      this.record('failed', cause === 'crash' ? 'crashed' : `${cause} limit`);
    } else {
      this.record(cause === 'crash' ? 'terminated' : 'failed', `process exited (exit code ${exitCode}, signal ${signal})`);
    }
    void this.o.onExit(this);
  }

  private onMessage(m: ChildMessage): void {
    this.instance.lastActivity = new Date();
    switch (m.type) {
      case 'result':
        this.onResult(m.subtaskId, m.outputs);
        return;
      case 'error':
        if (this.running?.subtask.id !== m.subtaskId) return;
        if (m.error.code === 'MEMORY_LIMIT' || m.error.code === 'DISK_LIMIT') {
          // The kernel cap refused an allocation: the limit is crossed, the agent goes.
          const limits = this.instance.specification.resourceLimits;
          const disk = m.error.code === 'DISK_LIMIT';
          const context = disk ? { limitMB: this.maxDiskMB } : { limitMB: limits.maxMemoryMB, peakRssMB: this.peakRssMB };
          this.fail({ ...(m.error as QiError), context: { ...m.error.context, agentId: this.id, ...context } }, disk ? 'disk limit' : 'memory limit', true);
        } else this.finish(failure(m.error as QiError));
        return;
      case 'progress':
        if (this.running?.subtask.id === m.subtaskId) {
          this.o.onEvent({ type: 'progress', agentId: this.id, subtaskId: m.subtaskId, fraction: m.fraction, ...(m.note === undefined ? {} : { note: m.note }) });
        }
        return;
      case 'log':
        this.o.logger[m.level]({ ...m.data, subtaskId: m.subtaskId, fromAgent: true }, m.msg);
        return;
      case 'audit':
        this.o.logger.warn({ audit: m.kind, action: m.action, detail: m.detail }, `agent ${this.id}: ${m.kind} access ${m.action}`);
        this.o.onEvent({ type: 'audit', agentId: this.id, kind: m.kind, action: m.action, detail: m.detail });
        return;
      case 'tool-call':
        void this.onToolCall(m);
        return;
      case 'sync-arrive':
        void this.reply('sync-release', m.callId, this.o.services.sync?.(this, m.subtaskId, m.pointId, m.value) ?? this.unavailable('synchronization points'));
        return;
      case 'channel':
        void this.reply('channel-reply', m.callId, this.o.services.channel?.(this, m) ?? this.unavailable('channels'));
        return;
      default:
        this.fail(qiError('INVALID_MESSAGE', `agent ${this.id} sent '${m.type}' after start-up`, { agentId: this.id }), 'protocol violation');
    }
  }

  private unavailable(what: string): Promise<Result<unknown, QiError>> {
    return Promise.resolve(failure(qiError('NOT_FOUND', `${what} are only available to agents run by the execution engine`, { agentId: this.id })));
  }

  private async reply(type: 'tool-result' | 'sync-release' | 'channel-reply', callId: number, pending: Promise<Result<unknown, QiError>>): Promise<void> {
    const result = await pending;
    this.o.started.process.channel.send({ type, callId, result: result.tag === 'success' ? { tag: 'success', value: result.value ?? null } : result });
  }

  private async onToolCall(m: Extract<ChildMessage, { type: 'tool-call' }>): Promise<void> {
    const startedAt = Date.now();
    const signal = this.running?.abort.signal ?? AbortSignal.abort();
    const pending = this.o.services.tool(this, m.subtaskId, m.name, m.args, signal);
    await this.reply('tool-result', m.callId, pending);
    const result = await pending;
    this.refreshUsage();
    this.o.onEvent({ type: 'tool', agentId: this.id, subtaskId: m.subtaskId, name: m.name, ok: result.tag === 'success', startedAt, endedAt: Date.now() });
    if (result.tag === 'failure' && (result.error.code === 'TOOL_BUDGET' || result.error.code === 'FILE_OP_BUDGET')) {
      // A spent budget is enforced even if the plugin swallows the error.
      this.fail(result.error, 'budget spent');
    }
  }

  private onResult(subtaskId: string, outputs: Record<string, unknown>): void {
    const running = this.running;
    if (running?.subtask.id !== subtaskId) return;
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
      );
      return;
    }
    this.finish(success({ outputs, startedAt: running.startedAt, endedAt: Date.now() }));
  }
}
