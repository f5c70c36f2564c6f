import type { QiError, Result } from '@qi/base';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ChildMessage, ParentMessage, Unbranded } from '../protocol/messages.js';
import type { IsolationLevel } from '../schemas/common.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { ToolPolicy } from '../tools/types.js';
import type { PluginInfo } from './instance.js';
import type { AgentLogBudget } from './log-budget.js';
import type { UsageSample } from './monitor.js';
import type { PluginSource } from './plugin-source.js';

/**
 * The seam between a SubAgent and whatever carries its messages (vitest's `PoolWorker`,
 * tinypool's `TinypoolWorker`): `start` an agent, `send` it parent messages, receive its
 * `messages`, `stop` it; its end is recorded once, the first reason wins. The local sandboxed
 * child, the in-memory runtime (qicoord/testing) and a remote worker implement it; the SubAgent
 * on top applies the same identity binding, limits and log budget to all of them, and every
 * child message reaches it already size-, rate-, depth- and schema-checked.
 */
export interface AgentTransport {
  /** 'local', 'in-memory', later 'bullmq'. */
  readonly kind: string;
  /** Starts one agent up to `ready` (its plugin loaded and valid); any other outcome is a failure and leaves nothing behind. */
  start(request: StartRequest): Promise<Result<AgentConnection, QiError>>;
  /** Frees what the transport holds across agents (cgroup parents, connections); agents are stopped by their owner first. */
  close(): Promise<void>;
}

/** What starting one agent needs, whatever the transport. */
export interface StartRequest {
  readonly agentId: string;
  readonly spec: SubAgentSpecification;
  readonly plugin: PluginSource;
  readonly sandbox: Config['sandbox'];
  readonly logLevel: Config['logging']['level'];
  /** The agent's own logger (child of the coordinator's). */
  readonly logger: Logger;
  readonly timeoutMs: number;
}

/** Where a connection's messages go: checked child messages, or the violation that ended reading. */
export interface MessageSink {
  message(m: ChildMessage): void;
  violation(e: QiError): void;
}

/** How an agent's connection ended. */
export interface AgentEnd {
  /** 'exited': the agent ended (on its own or stopped); 'lost': the transport lost it (a remote worker gone: WORKER_LOST). */
  readonly reason: 'exited' | 'lost';
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last output of the agent (how a V8 heap death is recognized); '' where there is none. */
  readonly stderrTail: string;
  /** The kernel's OOM killer killed a process of the agent (where it had a cgroup). */
  readonly oomKilled?: boolean;
}

/** The boundary an agent was started in, as the coordinator's records and tool broker need it. */
export interface AgentBoundary {
  readonly workspace: string;
  readonly layers: readonly string[];
  readonly isolationLevel: IsolationLevel;
  readonly downgradedFrom?: IsolationLevel;
  /** How the `execute` tool starts a program inside the same boundary. */
  readonly execute: Omit<ToolPolicy['execute'], 'defaultTimeoutMs'>;
}

/** One started agent: ready, talking, until its end. */
export interface AgentConnection {
  readonly plugin: PluginInfo;
  readonly boundary: AgentBoundary;
  /** The OS process to monitor (memory, CPU, disk), or undefined where none runs here (in-memory, remote). */
  readonly pid: number | undefined;
  /** Resident memory when the runtime was up, before the plugin loaded (0 where unmeasured). */
  readonly baselineMB: number;
  readonly startMs: number;
  /** The agent's log budget: every record the agent causes in the coordinator's log goes through it. */
  readonly log: AgentLogBudget;
  readonly alive: boolean;
  /** Resolves once with the first recorded end, after the agent's boundary (workspace, cgroup) was freed. */
  readonly ended: Promise<AgentEnd>;
  /** Sends a message to the agent; false when the connection is already closed. */
  /** `later`: the message may wait for the end of the turn (the agent is busy with earlier ones). */
  send(message: Unbranded<ParentMessage>, later?: boolean): boolean;
  /**
   * Runs `fn` right before any message is actually written towards the agent (messages sent in
   * one turn may share a write, and so one call); it replaces an earlier hook (the agent's owner
   * sets it). `fn` must not throw. Where absent, no hook can be set.
   */
  beforeWrite?(fn: (() => void) | undefined): void;
  /** Routes the agent's messages to `sink` from now on (its owner takes over after start-up). */
  messages(sink: MessageSink): void;
  /** Stops the agent (graceful shutdown, then force after `graceMs`; `immediate`: force now), frees its boundary, and waits for its end. */
  stop(reason: string, graceMs: number, immediate?: boolean): Promise<AgentEnd>;
  /** Synchronous last resort (the coordinator's process-exit hook). */
  kill(): void;
  /**
   * Where no process runs here (`pid` undefined) but one runs elsewhere (a remote worker): the
   * usage samples of that process, checked and bounded, to `listener` (the latest listener);
   * returns the unsubscribe.
   */
  usage?(listener: (sample: UsageSample) => void): () => void;
}
