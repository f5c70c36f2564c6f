import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Logger } from 'pino';
import { qiError } from '../errors/catalogue.js';
import type { ChildMessage, ParentMessage, Unbranded } from '../protocol/messages.js';
import { namedSubtask } from '../protocol/messages.js';
import type { ChannelHandlers, ChannelLimits, ParentChannel } from './channel.js';
import type { PluginInfo } from './instance.js';
import { AGENT_LOG_RECORDS_PER_SECOND, AgentLogBudget } from './log-budget.js';
import type { ExitInfo } from './process.js';
import type { AgentBoundary, AgentConnection, AgentEnd, MessageSink } from './transport.js';

/**
 * What a handshake runs over: a spawned process ({@link AgentProcess}) or the in-memory runtime.
 * Its messages come through a {@link ParentChannel}, so every transport's messages get the same
 * checks.
 */
export interface AgentLink {
  readonly channel: ParentChannel;
  readonly exited: Promise<ExitInfo>;
  readonly alive: boolean;
  readonly stderrTail: string;
  stop(reason: string, graceMs: number, immediate?: boolean): Promise<ExitInfo>;
  signalGroup(signal: NodeJS.Signals): void;
}

export interface ConnectOptions {
  readonly agentId: string;
  readonly init: Omit<Extract<Unbranded<ParentMessage>, { type: 'init' }>, 'type'>;
  readonly limits: ChannelLimits;
  readonly maxOutputBytes: number;
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly killGraceMs: number;
  readonly boundary: AgentBoundary;
  /** The pid to monitor and its resident memory, measured when the runtime says hello (undefined: nothing to monitor here). */
  measure(): { readonly pid: number | undefined; readonly baselineMB: number };
  /** True when the kernel's OOM killer killed a process of the agent; read once, at its end, before `release`. */
  oomKilled?(): boolean;
  /** Frees the agent's boundary (workspace, cgroup) once it has ended. */
  release(): Promise<void>;
}

/** A start-up message out of the handshake's order: anything before `hello`, or a second `hello`. */
function outOfOrder(agentId: string, type: ChildMessage['type'], greeted: boolean): QiError {
  const what = greeted ? `a second 'hello'` : `'${type}' before 'hello'`;
  return qiError('INVALID_MESSAGE', `agent ${agentId} sent ${what} during start-up; the runtime says hello first and once; it was stopped`, { agentId, type });
}

type Handshake = Result<{ plugin: PluginInfo; baselineMB: number; pid: number | undefined }, QiError>;

/**
 * Takes an agent through its handshake: `init` (plugin path, workspace, network guard), `hello`
 * (runtime up) → `ready` (plugin loaded and valid). `init` is sent as soon as the link is open,
 * not in answer to `hello`: it waits in the channel while the child starts, and the runtime reads
 * it as soon as it listens — a round trip less on every cold start. The order of the child's
 * messages is still checked: its first message must be `hello` (then the agent's pid is measured),
 * and `hello` comes once; anything else fails the start with INVALID_MESSAGE. Any other outcome —
 * exit, a protocol violation, `init-failed`, the timeout — stops it and is a failure. `open`
 * starts the link with the channel handlers; an {@link ExitInfo} means it could not start at all.
 */
export async function connectAgent(open: (handlers: ChannelHandlers) => AgentLink | ExitInfo, options: ConnectOptions): Promise<Result<AgentConnection, QiError>> {
  const started = performance.now();
  let sink: MessageSink | undefined;
  let settle: ((r: Handshake) => void) | undefined;
  const outcome = new Promise<Handshake>((resolve) => (settle = resolve));
  let measured: { pid: number | undefined; baselineMB: number } = { pid: undefined, baselineMB: 0 };
  let ready = false;
  let greeted = false;
  // One budget for the agent's whole life (start-up, the pool, every subtask it runs); its
  // summary of dropped records is written once, when the agent is gone.
  const log = new AgentLogBudget(options.agentId, options.logger, { maxBytes: options.maxOutputBytes, recordsPerSecond: AGENT_LOG_RECORDS_PER_SECOND });

  const opened = open({
    onMessage: (m) => (sink === undefined ? onStartupMessage(m) : sink.message(m)),
    onViolation: (e) => (sink === undefined ? startupViolation(e) : sink.violation(e)),
  });
  if (!('channel' in opened)) {
    await options.release();
    return failure(qiError('SANDBOX_UNAVAILABLE', `agent ${options.agentId} could not be started: ${opened.spawnError ?? 'unknown error'}`, { agentId: options.agentId }));
  }
  const link = opened;
  link.channel.send({ type: 'init', ...options.init });
  // The first end is the one recorded: the OOM verdict is read before the boundary is freed.
  const ended: Promise<AgentEnd> = link.exited.then(async (info) => {
    log.close();
    const oomKilled = options.oomKilled?.() ?? false;
    await options.release();
    return { reason: info.lost === true ? 'lost' : 'exited', exitCode: info.exitCode, signal: info.signal, stderrTail: link.stderrTail, ...(oomKilled ? { oomKilled } : {}) };
  });

  /** Before `ready` the start fails; a ready agent waiting in the pool is stopped (the pool drops dead agents). */
  function startupViolation(error: QiError): void {
    if (!ready) {
      settle?.(failure(error));
      return;
    }
    log.write('warn', { code: error.code }, error.message);
    void link.stop('protocol violation', options.killGraceMs, true);
  }

  function onStartupMessage(m: ChildMessage): void {
    const named = namedSubtask(m);
    if (named !== undefined) {
      // No subtask runs before the agent is handed to a SubAgent (start-up, or waiting in the
      // warm pool): a message naming one speaks for somebody else.
      const error = qiError('INVALID_MESSAGE', `agent ${options.agentId} sent a '${m.type}' message naming subtask '${named}' while it runs no subtask; an agent speaks only for its own subtask; it was stopped`, {
        agentId: options.agentId,
        type: m.type,
        subtaskId: named,
      });
      startupViolation(error);
      return;
    }
    if (greeted === (m.type === 'hello')) {
      // The runtime says hello first, and once.
      startupViolation(outOfOrder(options.agentId, m.type, greeted));
    } else if (m.type === 'hello') {
      greeted = true;
      // `init` is already in the child's pipe, so by the time this runs the plugin may be
      // loading: its top-level code could inflate the reading (and so its own memory allowance).
      // The runtime's report was taken before any plugin code ran; the lower of the two counts.
      const reading = options.measure();
      measured = { pid: reading.pid, baselineMB: m.residentMB === undefined ? reading.baselineMB : Math.min(reading.baselineMB, m.residentMB) };
    } else if (m.type === 'ready') {
      ready = true;
      settle?.(success({ plugin: m.plugin, ...measured }));
    } else if (m.type === 'init-failed') {
      settle?.(failure(m.error as QiError));
    } else if (m.type === 'log') {
      log.write(m.level, { fromAgent: true, ...(m.data === undefined ? {} : { data: m.data }) }, m.msg);
    } else if (m.type === 'audit') {
      log.write('warn', { audit: m.kind, action: m.action, detail: m.detail }, `agent ${options.agentId}: ${m.kind} access ${m.action}`);
    }
  }

  void link.exited.then((info) =>
    settle?.(
      failure(
        qiError('AGENT_CRASHED', `agent ${options.agentId} exited during start-up (exit code ${info.exitCode}, signal ${info.signal}); see its stderr in the log`, {
          agentId: options.agentId,
          exitCode: info.exitCode,
          signal: info.signal,
        }),
      ),
    ),
  );
  const timer = setTimeout(
    () => settle?.(failure(qiError('TIME_LIMIT', `agent ${options.agentId} was not ready within ${options.timeoutMs} ms`, { agentId: options.agentId }))),
    options.timeoutMs,
  );
  const result = await outcome;
  clearTimeout(timer);
  if (result.tag === 'failure') {
    await link.stop('start-up failed', options.killGraceMs, true);
    await ended;
    return failure(result.error);
  }
  return success({
    ...result.value,
    boundary: options.boundary,
    startMs: performance.now() - started,
    log,
    ended,
    get alive() {
      return link.alive;
    },
    send: (message, later) => link.channel.send(message, later),
    beforeWrite: (fn) => link.channel.beforeWrite(fn),
    messages(next: MessageSink) {
      sink = next;
    },
    stop: (reason, graceMs, immediate = false) => link.stop(reason, graceMs, immediate).then(() => ended),
    kill: () => link.signalGroup('SIGKILL'),
  });
}
