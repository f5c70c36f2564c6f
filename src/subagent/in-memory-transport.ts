import { Duplex, PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { QiError, Result } from '@qi/base';
import { failure } from '@qi/base';
import { channelOver } from '../../sandbox/channel.js';
import { createAgentRuntime } from '../../sandbox/runtime.js';
import { qiError } from '../errors/catalogue.js';
import type { ChannelHandlers, ChannelLimits } from './channel.js';
import { ParentChannel } from './channel.js';
import { connectAgent, type AgentLink } from './connect.js';
import { buildAgentEnv } from './env.js';
import { agentGrants } from './local-transport.js';
import type { ExitInfo } from './process.js';
import type { AgentConnection, AgentTransport, StartRequest } from './transport.js';
import { createWorkspace, removeWorkspace } from './workspace.js';

export interface InMemoryTransportOptions {
  /**
   * Loads an agent plugin by path (default: `import()` of the file). Return the plugin object,
   * or a module whose default export it is: tests can hand in a plugin defined in the test.
   */
  readonly loadPlugin?: (file: string) => unknown;
  /** Called with each agent's handle once its runtime is created (before its handshake). */
  readonly onStart?: (agent: InMemoryAgent) => void;
}

/** A handle on one in-memory agent, to inject the failures a real process can have. */
export interface InMemoryAgent {
  readonly agentId: string;
  /** Ends the agent as a process death would (default: exit code null, SIGKILL): the coordinator sees AGENT_CRASHED. */
  crash(exitCode?: number | null, signal?: string | null): void;
  /** Writes raw bytes on the agent's side of the channel, as a hostile child could (a line is one message). */
  write(raw: string): void;
  /** Loses the agent, as a remote worker that vanished: the coordinator sees WORKER_LOST. */
  lose(): void;
}

/** The in-memory transport: handles of its live agents, by agent id. */
export interface InMemoryTransport extends AgentTransport {
  agent(agentId: string): InMemoryAgent | undefined;
}

/**
 * Runs each agent's plugin in this process, with the sandbox's own runtime (`ctx`, calls,
 * mailboxes, plugin checks) on one end of an in-memory pipe and the coordinator's channel on the
 * other: every message is framed, size-, rate-, depth- and schema-checked exactly as from a child
 * process, and the SubAgent above binds identities, enforces deadlines and budgets the log the
 * same way. Nothing is isolated and memory/CPU are not monitored: it tests a plugin's logic and
 * the coordination around it, never containment. For tests (qicoord/testing), with no fork.
 */
export function inMemoryTransport(options: InMemoryTransportOptions = {}): InMemoryTransport {
  const agents = new Map<string, InMemoryAgent>();
  const load = options.loadPlugin ?? ((file: string) => import(pathToFileURL(file).href));
  return {
    kind: 'in-memory',
    agent: (agentId) => agents.get(agentId),
    async close() {
      agents.clear();
    },
    async start(request: StartRequest): Promise<Result<AgentConnection, QiError>> {
      const { agentId, spec, sandbox } = request;
      let workspace: string;
      try {
        workspace = createWorkspace(sandbox.workspaceRoot, agentId, null);
      } catch (e) {
        return failure(qiError('SANDBOX_UNAVAILABLE', `cannot create the workspace of agent ${agentId} under ${sandbox.workspaceRoot}: ${e instanceof Error ? e.message : String(e)}`, { agentId }));
      }
      const limits = { maxMessageBytes: sandbox.maxMessageBytes, maxMessagesPerSecond: sandbox.maxMessagesPerSecond };
      return connectAgent(
        (handlers) => {
          const link = new InMemoryLink(agentId, limits, handlers, async (file) => load(file));
          agents.set(agentId, link);
          void link.exited.then(() => agents.delete(agentId));
          options.onStart?.(link);
          return link;
        },
        {
          agentId,
          init: { agentId, pluginPath: request.plugin.path, workspace, grants: agentGrants(spec, workspace, sandbox), netGuard: { mode: 'off', hosts: [] }, logLevel: request.logLevel, maxConcurrency: sandbox.maxSubtasksPerAgent },
          limits,
          maxOutputBytes: sandbox.maxOutputBytes,
          logger: request.logger,
          timeoutMs: request.timeoutMs,
          killGraceMs: sandbox.killGraceMs,
          boundary: {
            workspace,
            layers: ['in-memory'],
            isolationLevel: 'monitored',
            ...(spec.isolationLevel === 'monitored' ? {} : { downgradedFrom: spec.isolationLevel }),
            execute: { wrap: (command, args) => ({ command, args: [...args] }), seccompFilter: null, env: buildAgentEnv(sandbox.passEnv, sandbox.env) },
          },
          measure: () => ({ pid: undefined, baselineMB: 0 }),
          release: async () => {
            if (!sandbox.keepWorkspace) removeWorkspace(workspace);
          },
        },
      );
    },
  };
}

/** One in-memory agent: the sandbox runtime and the coordinator's channel joined by two pipes. */
class InMemoryLink implements AgentLink, InMemoryAgent {
  readonly channel: ParentChannel;
  readonly exited: Promise<ExitInfo>;
  readonly stderrTail = '';
  private ended = false;
  private resolveExit!: (info: ExitInfo) => void;
  private readonly parentEnd: Duplex;
  private readonly childEnd: Duplex;

  constructor(
    readonly agentId: string,
    limits: ChannelLimits,
    handlers: ChannelHandlers,
    loadPlugin: (file: string) => Promise<unknown>,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    const toChild = new PassThrough();
    const toParent = new PassThrough();
    this.parentEnd = Duplex.from({ readable: toParent, writable: toChild });
    this.childEnd = Duplex.from({ readable: toChild, writable: toParent });
    this.channel = new ParentChannel(this.parentEnd, agentId, limits, handlers);
    const exit = (code: number): void => this.end(code, null);
    const channel = channelOver(this.childEnd, exit);
    const runtime = createAgentRuntime({ channel, exit, installNetGuard: () => undefined, loadPlugin });
    channel.onMessage((message) => runtime.onMessage(message));
    setImmediate(() => runtime.start(process.pid, process.version));
  }

  get alive(): boolean {
    return !this.ended;
  }

  crash(exitCode: number | null = null, signal: string | null = 'SIGKILL'): void {
    this.end(exitCode, signal);
  }

  lose(): void {
    this.end(null, null, true);
  }

  write(raw: string): void {
    if (!this.ended) this.childEnd.write(raw);
  }

  signalGroup(signal: NodeJS.Signals): void {
    this.end(null, signal);
  }

  /** Shutdown message, then "SIGTERM" after `graceMs`, as a process is stopped; `immediate` ends it at once. */
  async stop(reason: string, graceMs: number, immediate = false): Promise<ExitInfo> {
    if (immediate) this.end(null, 'SIGKILL');
    else if (!this.ended) {
      this.channel.send({ type: 'shutdown', reason });
      const timer = setTimeout(() => this.end(null, 'SIGTERM'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }

  /** The agent's end, once: both pipe ends close (the plugin's code may run on, but nothing it sends arrives). */
  private end(exitCode: number | null, signal: string | null, lost = false): void {
    if (this.ended) return;
    this.ended = true;
    this.channel.close();
    this.childEnd.destroy();
    this.resolveExit({ exitCode, signal, ...(lost ? { lost } : {}) });
  }
}
