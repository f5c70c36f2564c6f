import type { QiError } from '@qi/base';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { CoordinatorEvent } from '../events/types.js';
import { qiError } from '../errors/catalogue.js';
import { BRAND } from '../protocol/constants.js';
import { exceedsDepth, MAX_MESSAGE_DEPTH } from '../protocol/depth.js';
import { parseLine } from '../protocol/framing.js';
import { isParentMessage } from '../protocol/guard.js';
import type { ChildMessage, ParentMessage } from '../protocol/messages.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import { toolPolicyFor } from '../subagent/factory.js';
import { DEFAULT_MAX_DISK_MB } from '../subagent/launch.js';
import type { LimitKind, ResourceMonitor, UsageSample } from '../subagent/monitor.js';
import type { AgentConnection, AgentEnd } from '../subagent/transport.js';
import { ToolBroker } from '../tools/broker.js';
import type { ToolDefinition } from '../tools/types.js';
import { parseControl, Stop, type Ended, type UpKind, type UsageReport } from './wire.js';

export interface SessionOptions {
  readonly session: string;
  readonly agentId: string;
  readonly spec: SubAgentSpecification;
  readonly connection: AgentConnection;
  readonly sandbox: Config['sandbox'];
  readonly monitor: ResourceMonitor;
  readonly tools: ReadonlyMap<string, ToolDefinition>;
  readonly logger: Logger;
  /** Writes an entry to the coordinator's inbox. */
  send(kind: UpKind, data: string): void;
  /** What the agent does, as the coordinator's events would tell it (the worker's live view). */
  onEvent?(event: CoordinatorEvent): void;
}

interface Running {
  readonly subtaskId: string;
  readonly attempt: number;
  readonly abort: AbortController;
}

/** One reason for every ended subtask's abort signal (a DOMException per subtask is costly). */
const SUBTASK_ENDED = new Error('subtask ended');

/** Usage samples go to the coordinator at most this often (the monitor reads every pollIntervalMs, 100 ms by default). */
const USAGE_RELAY_MS = 500;

/** Budget errors the coordinator's SubAgent would enforce: the worker's broker counts, so it enforces them here. */
const BUDGET_CODES: ReadonlySet<string> = new Set(['TOOL_BUDGET', 'FILE_OP_BUDGET']);

/**
 * One remote agent session on a worker: the agent runs here on the local transport (this host's
 * sandbox, limits and workspace), its memory/CPU/disk are watched here, and its tool calls are
 * answered by a broker on this host. Every other message is relayed to the coordinator as it
 * came, in order, whatever its type; the coordinator's messages are checked against the protocol
 * and passed to the agent. A limit crossed here fails the running subtask with the limit's error
 * (sent as the agent's own error message, which the coordinator's SubAgent enforces) and stops
 * the agent.
 */
export class RemoteSession {
  readonly ended: Promise<AgentEnd>;
  private running: Running | undefined;
  private readonly broker: ToolBroker;
  private readonly unwatch: () => void;
  private lostOnEnd = false;
  private usageSentAt = 0;
  /** True once the coordinator asked the agent to stop (it is on its way out). */
  stopping = false;
  private draining = false;
  subtasks = 0;

  constructor(private readonly o: SessionOptions) {
    const { connection, spec } = o;
    this.broker = new ToolBroker(toolPolicyFor(spec, o.agentId, connection.boundary, o.sandbox), o.tools, o.logger);
    connection.messages({ message: (m) => this.onChildMessage(m), violation: (e) => this.onViolation(e) });
    const limits = spec.resourceLimits;
    const layers = connection.boundary.layers;
    const maxDiskMB = limits.maxDiskMB ?? DEFAULT_MAX_DISK_MB;
    this.unwatch =
      connection.pid === undefined
        ? () => undefined
        : o.monitor.watch({
            agentId: o.agentId,
            pid: connection.pid,
            maxMemoryMB: limits.maxMemoryMB,
            baselineMB: connection.baselineMB,
            ...(limits.maxCpuPercent === undefined || layers.includes('cgroup:cpu') ? {} : { maxCpuPercent: limits.maxCpuPercent }),
            ...(layers.includes('disk-watchdog') ? { disk: { path: connection.boundary.workspace, maxBytes: maxDiskMB * 1024 * 1024 } } : {}),
            onSample: (sample) => this.onSample(sample),
            onLimit: (kind, sample) => this.onLimit(kind, sample, maxDiskMB),
          });
    this.status('ready');
    this.ended = connection.ended.then((end) => {
      this.unwatch();
      // A subtask still running when its agent ended is the coordinator's to judge; the view shows it ended.
      if (this.running !== undefined) this.subtaskEnded(this.running, end.reason === 'lost' || this.lostOnEnd ? 'cancelled' : 'failed');
      this.status(end.reason === 'lost' || this.lostOnEnd ? 'terminated' : end.exitCode === 0 ? 'completed' : 'failed');
      this.running?.abort.abort(SUBTASK_ENDED);
      const report: Ended = {
        exitCode: end.exitCode,
        signal: end.signal,
        stderrTail: end.stderrTail.slice(-4096),
        ...(end.oomKilled === true ? { oomKilled: true } : {}),
        ...(this.lostOnEnd || end.reason === 'lost' ? { lost: true } : {}),
      };
      o.send('end', JSON.stringify(report));
      return end;
    });
  }

  /** True once the worker gave the agent up (drain, coordinator gone): its end is reported as lost. */
  get givenUp(): boolean {
    return this.lostOnEnd;
  }

  get idle(): boolean {
    return this.running === undefined;
  }

  /** An entry from the coordinator's side. */
  onDown(kind: string, data: string): void {
    if (kind === 'stop') {
      const stop = parseControl(Stop, data);
      if (stop === undefined) return;
      this.stopping = true;
      void this.o.connection.stop(stop.reason, stop.graceMs, stop.immediate);
      return;
    }
    if (kind !== 'm') return;
    const message = parseParentMessage(data);
    if (message === undefined) {
      this.o.logger.warn({ agentId: this.o.agentId }, 'dropped a malformed message from the coordinator');
      return;
    }
    if (message.type === 'execute') {
      // A draining worker takes no new subtask: the agent is being given up, and its end (lost) reruns this one elsewhere.
      if (this.draining) return;
      this.running?.abort.abort(SUBTASK_ENDED);
      this.running = { subtaskId: message.subtask.id, attempt: message.subtask.attempt, abort: new AbortController() };
      this.subtasks++;
      this.o.onEvent?.({ type: 'subtask-start', coordinationId: this.o.session, subtaskId: message.subtask.id, agentId: this.o.agentId, attempt: message.subtask.attempt, at: Date.now() });
      this.status('executing');
    }
    const { [BRAND]: _brand, ...unbranded } = message;
    this.o.connection.send(unbranded);
  }

  /**
   * The worker drains: the running subtask (if any) finishes, then the agent is given up. The
   * coordinator sees it lost while idle, and starts its next subtasks on another worker.
   */
  drain(): void {
    this.draining = true;
    if (this.running === undefined) this.giveUp();
  }

  kill(): void {
    this.o.connection.kill();
  }

  /** The coordinator is gone: nobody waits for what the agent does, it is stopped at once. */
  abandon(): void {
    this.lostOnEnd = true;
    void this.o.connection.stop('coordinator lost', 0, true);
  }

  private giveUp(): void {
    this.lostOnEnd = true;
    void this.o.connection.stop('worker draining', this.o.sandbox.killGraceMs);
  }

  /** Relays a message as the protocol's JSON line (it was parsed and bounded in size and depth by the local channel, so plain JSON.stringify cannot fail on it). */
  private relay(m: ChildMessage | Record<string, unknown>): void {
    this.o.send('m', JSON.stringify(m));
  }

  private onChildMessage(m: ChildMessage): void {
    if (m.type === 'tool-call') {
      void this.onToolCall(m);
      return;
    }
    const running = this.running;
    if ((m.type === 'result' || m.type === 'error') && running?.subtaskId === m.subtaskId) {
      running.abort.abort(SUBTASK_ENDED);
      this.running = undefined;
      this.relay(m);
      this.subtaskEnded(running, m.type === 'error' ? 'failed' : 'succeeded', m.type === 'error' ? (m.error as QiError) : undefined);
      if (this.draining) this.giveUp();
      return;
    }
    if (m.type === 'progress') this.emitAgent({ type: 'progress', agentId: this.o.agentId, subtaskId: m.subtaskId, fraction: m.fraction });
    this.relay(m);
  }

  /** A monitor reading: shown here, and relayed to the coordinator at most every USAGE_RELAY_MS. */
  private onSample(sample: UsageSample): void {
    this.emitAgent({ type: 'usage', agentId: this.o.agentId, sample });
    if (sample.at - this.usageSentAt < USAGE_RELAY_MS) return;
    this.usageSentAt = sample.at;
    const report: UsageReport = {
      rssMB: sample.rssMB,
      cpuPercent: sample.cpuPercent,
      peakRssMB: sample.peakRssMB,
      ...(sample.cpuWindowPercent === undefined ? {} : { cpuWindowPercent: sample.cpuWindowPercent }),
      ...(sample.diskMB === undefined ? {} : { diskMB: sample.diskMB }),
    };
    this.o.send('usage', JSON.stringify(report));
  }

  private emitAgent(event: Extract<CoordinatorEvent, { type: 'agent' }>['event']): void {
    this.o.onEvent?.({ type: 'agent', coordinationId: this.o.session, event, at: Date.now() });
  }

  private status(status: 'ready' | 'executing' | 'completed' | 'failed' | 'terminated'): void {
    if (this.o.onEvent === undefined) return;
    this.emitAgent({ type: 'status', agentId: this.o.agentId, agentType: this.o.spec.agentType, plugin: this.o.connection.plugin.name, status });
  }

  private subtaskEnded(running: Running, status: 'succeeded' | 'failed' | 'cancelled', error?: QiError): void {
    this.o.onEvent?.({ type: 'subtask-end', coordinationId: this.o.session, subtaskId: running.subtaskId, agentId: this.o.agentId, status, attempt: running.attempt, ...(error === undefined ? {} : { error }), at: Date.now() });
    if (status !== 'cancelled') this.status('ready');
  }

  private async onToolCall(m: Extract<ChildMessage, { type: 'tool-call' }>): Promise<void> {
    const running = this.running;
    if (running === undefined || running.subtaskId !== m.subtaskId) {
      // Identity is the coordinator's to judge: relayed, its SubAgent fails the agent.
      this.relay(m);
      return;
    }
    const startedAt = Date.now();
    const result = await this.broker.call(m.name, m.args, running.abort.signal);
    this.emitAgent({ type: 'tool', agentId: this.o.agentId, subtaskId: m.subtaskId, name: m.name, ok: result.tag === 'success', startedAt, endedAt: Date.now() });
    this.o.connection.send({ type: 'tool-result', callId: m.callId, result: result.tag === 'success' ? { tag: 'success', value: result.value ?? null } : result });
    if (result.tag === 'failure' && BUDGET_CODES.has(result.error.code)) this.failRunning(result.error, false);
  }

  private onViolation(error: QiError): void {
    this.o.logger.warn({ agentId: this.o.agentId, code: error.code }, error.message);
    this.failRunning(error, true);
  }

  private onLimit(kind: LimitKind, sample: UsageSample, maxDiskMB: number): void {
    const limits = this.o.spec.resourceLimits;
    const where = `${this.running === undefined ? `agent ${this.o.agentId}` : `subtask '${this.running.subtaskId}' on agent ${this.o.agentId}`} (worker host)`;
    const base = this.o.connection.baselineMB;
    const errors: Record<LimitKind, () => QiError> = {
      memory: () => qiError('MEMORY_LIMIT', `${where} used ${Math.round(sample.rssMB - base)} MB over its runtime's ${Math.round(base)} MB, more than maxMemoryMB ${limits.maxMemoryMB}; it was killed`, { limitMB: limits.maxMemoryMB, rssMB: sample.rssMB }),
      cpu: () => qiError('CPU_LIMIT', `${where} used ${Math.round(sample.cpuWindowPercent ?? 0)}% CPU, more than maxCpuPercent ${limits.maxCpuPercent}; it was stopped`, { limitPercent: limits.maxCpuPercent }),
      disk: () => qiError('DISK_LIMIT', `${where} holds ${Math.round(sample.diskMB ?? 0)} MB in its workspace, more than maxDiskMB ${maxDiskMB}; it was killed`, { limitMB: maxDiskMB, diskMB: sample.diskMB }),
    };
    this.failRunning(errors[kind](), kind !== 'cpu');
  }

  /** Fails the running subtask with `error` (as the agent's error message, so the coordinator enforces it), then stops the agent. */
  private failRunning(error: QiError, immediate: boolean): void {
    const running = this.running;
    if (running !== undefined) {
      this.running = undefined;
      running.abort.abort(SUBTASK_ENDED);
      this.relay({ [BRAND]: 1, type: 'error', subtaskId: running.subtaskId, error: { code: error.code, message: error.message, category: error.category, context: error.context } });
      this.subtaskEnded(running, 'failed', error);
    }
    void this.o.connection.stop(error.code, this.o.sandbox.killGraceMs, immediate);
  }
}

/**
 * A coordinator message, checked like anything from the network: JSON without prototype keys,
 * depth, then the protocol's dependency-free guard (the one the agent applies again; a test keeps
 * it in step with the zod schema). `init` never comes from the coordinator: the worker sends its
 * own.
 */
function parseParentMessage(data: string): ParentMessage | undefined {
  let raw: unknown;
  try {
    raw = parseLine(data);
  } catch {
    return undefined;
  }
  if (exceedsDepth(raw, MAX_MESSAGE_DEPTH) || !isParentMessage(raw)) return undefined;
  return raw.type === 'init' ? undefined : raw;
}
