import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Logger } from 'pino';
import { qiError } from '../errors/catalogue.js';
import type { ChildMessage, ParentMessage, Unbranded } from '../protocol/messages.js';
import { namedSubtask } from '../protocol/messages.js';
import type { ChannelLimits } from './channel.js';
import type { PluginInfo } from './instance.js';
import { AGENT_LOG_RECORDS_PER_SECOND, AgentLogBudget } from './log-budget.js';
import { residentMB } from './monitor.js';
import { AgentProcess, findNodePid } from './process.js';
import type { LaunchPlan } from './types.js';

/** Routes a channel's messages and violations to whoever owns the agent at the moment. */
export interface MessageRouter {
  message(m: ChildMessage): void;
  violation(e: QiError): void;
}

/** A started, initialized agent process, not yet handed to a SubAgent. */
export interface StartedProcess {
  readonly process: AgentProcess;
  readonly plugin: PluginInfo;
  /** The pid to monitor (the node process, below any forking wrapper). */
  readonly nodePid: number;
  /** Resident memory when the runtime was up, before the plugin loaded. */
  readonly baselineMB: number;
  readonly startMs: number;
  /** The agent's log budget: every record the agent causes in the coordinator's log goes through it. */
  readonly log: AgentLogBudget;
  /** Replaces the message router (the SubAgent takes over after start-up). */
  route(router: MessageRouter): void;
}

export interface StartOptions {
  readonly agentId: string;
  readonly plan: LaunchPlan;
  readonly init: Omit<Extract<Unbranded<ParentMessage>, { type: 'init' }>, 'type'>;
  readonly limits: ChannelLimits;
  readonly maxOutputBytes: number;
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly killGraceMs: number;
}

/**
 * Spawns an agent process and takes it through its handshake: `hello` (runtime up) → `init`
 * (plugin path, workspace, network guard) → `ready` (plugin loaded and valid). Any other outcome
 * — exit, a protocol violation, `init-failed`, the timeout — stops the process and is a failure.
 */
export async function startProcess(options: StartOptions): Promise<Result<StartedProcess, QiError>> {
  const started = performance.now();
  let router: MessageRouter | undefined;
  let settle: ((r: Result<{ plugin: PluginInfo; baselineMB: number; nodePid: number }, QiError>) => void) | undefined;
  const outcome = new Promise<Result<{ plugin: PluginInfo; baselineMB: number; nodePid: number }, QiError>>((resolve) => (settle = resolve));
  let baselineMB = 0;
  let nodePid = 0;
  let ready = false;
  // One budget for the process's whole life (start-up, the pool, every subtask it runs); its
  // summary of dropped records is written once, when the process is gone.
  const log = new AgentLogBudget(options.agentId, options.logger, { maxBytes: options.maxOutputBytes, recordsPerSecond: AGENT_LOG_RECORDS_PER_SECOND });

  const spawned = AgentProcess.spawn(options.plan, {
    agentId: options.agentId,
    limits: options.limits,
    maxOutputBytes: options.maxOutputBytes,
    logger: options.logger,
    handlers: {
      onMessage: (m) => (router === undefined ? onStartupMessage(m) : router.message(m)),
      onViolation: (e) => (router === undefined ? startupViolation(e) : router.violation(e)),
    },
  });
  if (!(spawned instanceof AgentProcess)) {
    return failure(qiError('SANDBOX_UNAVAILABLE', `agent ${options.agentId} could not be started: ${spawned.spawnError ?? 'unknown error'}`, { command: options.plan.command }));
  }
  const proc = spawned;
  void proc.exited.then(() => log.close());

  /** Before `ready` the start fails; a ready agent waiting in the pool is stopped (the pool drops dead agents). */
  function startupViolation(error: QiError): void {
    if (!ready) {
      settle?.(failure(error));
      return;
    }
    log.write('warn', { code: error.code }, error.message);
    void proc.stop('protocol violation', options.killGraceMs, true);
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
    if (m.type === 'hello') {
      nodePid = options.plan.nodePidDiffers ? findNodePid(proc.pid) : proc.pid;
      baselineMB = residentMB(nodePid);
      proc.channel.send({ type: 'init', ...options.init });
    } else if (m.type === 'ready') {
      ready = true;
      settle?.(success({ plugin: m.plugin, baselineMB, nodePid }));
    } else if (m.type === 'init-failed') {
      settle?.(failure(m.error as QiError));
    } else if (m.type === 'log') {
      log.write(m.level, { fromAgent: true, ...(m.data === undefined ? {} : { data: m.data }) }, m.msg);
    } else if (m.type === 'audit') {
      log.write('warn', { audit: m.kind, action: m.action, detail: m.detail }, `agent ${options.agentId}: ${m.kind} access ${m.action}`);
    }
  }

  void proc.exited.then((info) =>
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
    await proc.stop('start-up failed', options.killGraceMs, true);
    return failure(result.error);
  }
  return success({
    process: proc,
    ...result.value,
    startMs: performance.now() - started,
    log,
    route(next: MessageRouter) {
      router = next;
    },
  });
}
