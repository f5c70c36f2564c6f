import { Duplex } from 'node:stream';
import type { QiError } from '@qi/base';
import type { Logger } from 'pino';
import { qiError } from '../errors/catalogue.js';
import { BRAND, PROTOCOL_VERSION } from '../protocol/constants.js';
import { namedSubtask, type ChildMessage, type ParentMessage, type Unbranded } from '../protocol/messages.js';
import { ParentChannel, type ChannelLimits } from '../subagent/channel.js';
import type { PluginInfo } from '../subagent/instance.js';
import { AGENT_LOG_RECORDS_PER_SECOND, AgentLogBudget } from '../subagent/log-budget.js';
import type { AgentBoundary, AgentConnection, AgentEnd, MessageSink } from '../subagent/transport.js';
import { safeStringify } from '../util/safe-json.js';
import type { UsageSample } from '../subagent/monitor.js';
import { parseControl, UsageReport, type DownKind, type Ended, type Started } from './wire.js';

export interface RemoteConnectionOptions {
  readonly agentId: string;
  readonly session: string;
  readonly started: Started;
  readonly startMs: number;
  readonly limits: ChannelLimits;
  readonly maxOutputBytes: number;
  readonly logger: Logger;
  /** How long a stop may wait for the worker's confirmation beyond its grace before the agent counts as lost. */
  readonly lockMs: number;
  /** Writes an entry to the worker's inbox stream. */
  send(kind: DownKind, data: string): void;
  /** Called once, when the connection has ended. */
  onEnded(): void;
}

/** Largest usage report read (its JSON is a few numbers). */
const MAX_USAGE_BYTES = 1024;
/** Usage reports closer together than this are dropped (a worker that floods gets no further). */
const MIN_USAGE_GAP_MS = 100;

/**
 * The coordinator's end of one remote agent session. The agent's messages, relayed by its
 * worker, go through a {@link ParentChannel} exactly as a local child's do (size, rate, depth,
 * schema; the first violation stops reading); parent messages go to the worker's inbox. The end
 * is recorded once: the worker's report of the agent's end, or 'lost' (heartbeat gone, Redis
 * gone, a stop never confirmed).
 */
export class RemoteConnection implements AgentConnection {
  readonly plugin: PluginInfo;
  readonly boundary: AgentBoundary;
  readonly pid = undefined;
  readonly baselineMB: number;
  readonly startMs: number;
  readonly log: AgentLogBudget;
  readonly ended: Promise<AgentEnd>;
  readonly worker: string;
  private resolveEnd!: (end: AgentEnd) => void;
  private done = false;
  private sink: MessageSink | undefined;
  private readonly channel: ParentChannel;
  /** The channel's byte source: entries are pushed in synchronously, so a message is handled before a control entry that follows it. */
  private readonly source: Duplex;
  private stopTimer: NodeJS.Timeout | undefined;
  private usageListener: ((sample: UsageSample) => void) | undefined;
  private usageAt = 0;
  /** Runs right before an entry is published to the worker's inbox (see AgentConnection.beforeWrite). */
  private before: (() => void) | undefined;
  /** The last usage sample its worker relayed (undefined until one came). */
  lastUsage: UsageSample | undefined;

  constructor(private readonly o: RemoteConnectionOptions) {
    const { started } = o;
    this.worker = started.worker;
    this.plugin = started.plugin;
    this.baselineMB = started.baselineMB;
    this.startMs = o.startMs;
    this.boundary = {
      workspace: started.boundary.workspace,
      layers: [...started.boundary.layers, `worker:${started.host}`],
      isolationLevel: started.boundary.isolationLevel,
      ...(started.boundary.downgradedFrom === undefined ? {} : { downgradedFrom: started.boundary.downgradedFrom }),
      // Tools run on the worker's host, by its broker; nothing is executed here for this agent.
      execute: { wrap: (command, args) => ({ command, args: [...args] }), seccompFilter: null, env: {} },
    };
    this.log = new AgentLogBudget(o.agentId, o.logger, { maxBytes: o.maxOutputBytes, recordsPerSecond: AGENT_LOG_RECORDS_PER_SECOND });
    this.ended = new Promise((resolve) => (this.resolveEnd = resolve));
    this.source = new Duplex({ read: () => undefined, write: (_chunk, _enc, cb) => cb() });
    this.channel = new ParentChannel(this.source, o.agentId, o.limits, {
      onMessage: (m) => (m.type === 'tool-call' ? this.toolCallHere(m) : this.sink === undefined ? this.idleMessage(m) : this.sink.message(m)),
      onViolation: (e) => (this.sink === undefined ? this.idleViolation(e) : this.sink.violation(e)),
    });
  }

  get alive(): boolean {
    return !this.done;
  }

  /** An agent message line relayed by the worker. */
  receive(line: string): void {
    if (!this.done) this.source.emit('data', Buffer.from(`${line}\n`, 'utf8'));
  }

  /**
   * A usage report of the agent's process, relayed by its worker: size-capped, validated,
   * at most one per MIN_USAGE_GAP_MS (a worker sends one per 500 ms), and timed by this host's
   * clock (the worker's may differ).
   */
  receiveUsage(data: string): void {
    if (this.done || data.length > MAX_USAGE_BYTES) return;
    const now = Date.now();
    if (now - this.usageAt < MIN_USAGE_GAP_MS) return;
    const report = parseControl(UsageReport, data);
    if (report === undefined) return;
    this.usageAt = now;
    const sample: UsageSample = {
      at: now,
      rssMB: report.rssMB,
      cpuPercent: report.cpuPercent,
      cpuWindowPercent: report.cpuWindowPercent,
      peakRssMB: report.peakRssMB,
      ...(report.diskMB === undefined ? {} : { diskMB: report.diskMB }),
    };
    this.lastUsage = sample;
    this.usageListener?.(sample);
  }

  usage(listener: (sample: UsageSample) => void): () => void {
    this.usageListener = listener;
    return () => {
      if (this.usageListener === listener) this.usageListener = undefined;
    };
  }

  /** The worker reported the agent's end. */
  end(ended: Ended): void {
    this.finish({ reason: ended.lost === true ? 'lost' : 'exited', exitCode: ended.exitCode, signal: ended.signal, stderrTail: ended.stderrTail, ...(ended.oomKilled === true ? { oomKilled: true } : {}) });
  }

  /** The session is gone without a word from the worker. */
  lose(why: string): void {
    this.o.logger.warn({ agentId: this.o.agentId, worker: this.worker }, `remote agent ${this.o.agentId} lost: ${why}`);
    this.finish({ reason: 'lost', exitCode: null, signal: null, stderrTail: why });
  }

  send(message: Unbranded<ParentMessage>): boolean {
    if (this.done) return false;
    // Never throws: a value past the bounds costs a marker (as on a local channel).
    const text = safeStringify({ [BRAND]: PROTOCOL_VERSION, ...message });
    this.before?.();
    this.o.send('m', text);
    return true;
  }

  beforeWrite(fn: (() => void) | undefined): void {
    this.before = fn;
  }

  messages(sink: MessageSink): void {
    this.sink = sink;
  }

  stop(reason: string, graceMs: number, immediate = false): Promise<AgentEnd> {
    if (!this.done && this.stopTimer === undefined) {
      this.o.send('stop', JSON.stringify({ reason: reason.slice(0, 1000), graceMs, immediate }));
      // The worker stops in at most two graces (shutdown, SIGTERM, SIGKILL); a worker that does
      // not confirm within that and a heartbeat period is taken for gone.
      this.stopTimer = setTimeout(() => this.lose(`the worker did not confirm the stop within ${2 * graceMs + this.o.lockMs} ms`), 2 * graceMs + this.o.lockMs);
      this.stopTimer.unref();
    }
    return this.ended;
  }

  kill(): void {
    // The process is exiting: the stop goes out if the connection still flushes; otherwise the
    // worker sees this coordinator's heartbeat expire and stops the agent itself.
    if (!this.done) this.o.send('stop', JSON.stringify({ reason: 'coordinator exiting', graceMs: 0, immediate: true }));
  }

  private finish(end: AgentEnd): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.stopTimer);
    this.channel.close();
    this.log.close();
    this.o.onEnded();
    this.resolveEnd(end);
  }

  /**
   * Tool calls of a remote agent are answered by its worker's broker, on the worker's host; one
   * that reaches the coordinator (a worker relays those naming a subtask the agent does not run)
   * is refused as a protocol violation, so no tool of a remote agent ever acts on this host.
   */
  private toolCallHere(m: Extract<ChildMessage, { type: 'tool-call' }>): void {
    const error = qiError('INVALID_MESSAGE', `remote agent ${this.o.agentId} sent a tool call for subtask '${m.subtaskId}' to the coordinator; its tools run on its worker only; it was stopped`, {
      agentId: this.o.agentId,
      type: m.type,
      subtaskId: m.subtaskId,
    });
    if (this.sink === undefined) this.idleViolation(error);
    else this.sink.violation(error);
  }

  /** Before a SubAgent owns the connection (the warm pool): logs go to the budget; a message naming a subtask speaks for somebody else. */
  private idleMessage(m: ChildMessage): void {
    const named = namedSubtask(m);
    if (m.type === 'log' && named === undefined) {
      this.log.write(m.level, { fromAgent: true, ...(m.data === undefined ? {} : { data: m.data }) }, m.msg);
      return;
    }
    if (m.type === 'audit') {
      this.log.write('warn', { audit: m.kind, action: m.action, detail: m.detail }, `agent ${this.o.agentId}: ${m.kind} access ${m.action}`);
      return;
    }
    this.idleViolation(
      qiError('INVALID_MESSAGE', `agent ${this.o.agentId} sent a '${m.type}' message while it runs no subtask; it was stopped`, { agentId: this.o.agentId, type: m.type }),
    );
  }

  private idleViolation(error: QiError): void {
    this.log.write('warn', { code: error.code }, error.message);
    void this.stop('protocol violation', 0, true);
  }
}
