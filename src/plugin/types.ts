/** The three kinds of agent. */
export type AgentType = 'basic' | 'decision-capable' | 'specialized';

/** pino-shaped logger handed to plugins; records are forwarded to the coordinator's log. */
export interface PluginLogger {
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** What a plugin sees of the subtask it runs. */
export interface SubtaskView {
  readonly id: string;
  readonly parentTaskId: string;
  readonly description: string;
  readonly expectedOutputs: readonly { readonly name: string; readonly type: string; readonly description: string }[];
  readonly attempt: number;
}

/** Brokered tools: each call is checked against the agent's constraints and counted. */
export interface ToolCaller {
  call<T = unknown>(name: string, args?: Record<string, unknown>): Promise<T>;
}

/** A direct message from another agent or subtask. */
export interface DirectMessage<T = unknown> {
  readonly from: string;
  readonly body: T;
}

/** A message pulled from a queue; ack it when done, or it is redelivered if this agent dies. */
export interface QueuedMessage<T = unknown> {
  readonly id: string;
  readonly body: T;
  ack(): Promise<void>;
}

/** A named queue shared by the run's agents. */
export interface QueueHandle<T = unknown> {
  push(body: T): Promise<void>;
  /** The next message, or undefined when none arrives within `timeoutMs` (default: wait). */
  pull(timeoutMs?: number): Promise<QueuedMessage<T> | undefined>;
}

/**
 * Limits a delegated sub-agent asks for. Whatever is left out is the parent's; anything wider
 * than the parent's fails the delegation with DELEGATION_DENIED (a child never holds more).
 */
export interface DelegationConstraints {
  /** Deadline of the child, ms (at most the parent's remaining time; default: that time). */
  readonly maxDuration?: number;
  /** Memory limit of the child's agent, MB. */
  readonly maxMemory?: number;
  readonly allowedTools?: readonly string[];
  /** false → network 'none'; true keeps the parent's level (never more). */
  readonly requiresNetwork?: boolean;
  readonly networkAccessLevel?: 'none' | 'restricted' | 'full';
  readonly allowedNetworkHosts?: readonly string[];
  readonly fileSystemAccess?: 'read-only' | 'restricted' | 'full';
  readonly maxToolCalls?: number;
  readonly maxFileOperations?: number;
  readonly maxCpuPercent?: number;
  readonly maxDiskMB?: number;
  readonly isolationLevel?: 'monitored' | 'restricted' | 'sandbox';
}

/** One sub-agent to run (`ctx.delegate`). */
export interface DelegationRequest {
  /** Unique among this subtask's children (default: its position among them); the child's id is `<parent id>/<id>`. */
  readonly id?: string;
  /** The agent plugin to run on; else the one whose capabilities cover `capabilities`; else the parent's. */
  readonly agent?: string;
  readonly capabilities?: readonly string[];
  readonly description?: string;
  /** The child's ctx.inputs. */
  readonly inputs?: Readonly<Record<string, unknown>>;
  /** The outputs the child must return (names, or the spec's output objects). */
  readonly expectedOutputs?: readonly (string | { readonly name: string; readonly type?: string; readonly description?: string })[];
  readonly executionConstraints?: DelegationConstraints;
  /** Expected run time, ms (scheduling estimate; default 1000). */
  readonly estimatedDuration?: number;
}

/** The context an agent plugin's `execute` receives. */
export interface AgentPluginContext {
  /** Resolved inputs: literal values and upstream outputs. */
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly agentId: string;
  /** The agent's own workspace directory (writable unless fileSystemAccess is read-only). */
  readonly workspace: string;
  /** What the agent may read and write: its workspace and the configured grants (absolute paths). */
  readonly grants: { readonly read: readonly string[]; readonly write: readonly string[] };
  readonly tools: ToolCaller;
  /** Reports progress of this subtask, a fraction 0..1. */
  progress(fraction: number, note?: string): void;
  readonly log: PluginLogger;
  /** Aborted when the subtask is cancelled or its deadline passes. */
  readonly signal: AbortSignal;
  /** Arrives at a synchronization point; resolves with its outcome (aggregate, decision, …). */
  sync<T = unknown>(pointId: string, value?: unknown): Promise<T>;
  /** Sends a direct message to an agent id or a subtask id. */
  send(to: string, message: unknown): Promise<void>;
  publish(topic: string, message: unknown): Promise<void>;
  /** Messages on `topic` from the moment of the call. */
  subscribe<T = unknown>(topic: string): AsyncIterable<T>;
  /** Direct messages to this agent. */
  messages<T = unknown>(): AsyncIterable<DirectMessage<T>>;
  queue<T = unknown>(name: string): QueueHandle<T>;
  /** The last state checkpointed for this subtask (on a retry), or undefined. */
  restore<T = unknown>(): Promise<T | undefined>;
  /**
   * Runs sub-agents as new subtasks of this run and resolves with their outputs (one object, or
   * an array for an array of requests); rejects with a failed child's error (DELEGATION_DENIED,
   * DELEGATION_LIMIT, or what the child failed with). This subtask holds no concurrency slot
   * while it waits; its children are cancelled when it ends.
   */
  delegate<T = Record<string, unknown>>(request: DelegationRequest): Promise<T>;
  delegate<T = Record<string, unknown>>(requests: readonly DelegationRequest[]): Promise<T[]>;
}

/** An agent plugin: loaded inside the SubAgent's child process. */
export interface AgentPlugin {
  /** Unique among loaded plugins. */
  readonly name: string;
  readonly type: AgentType;
  /** What subtasks it can run (matched against agentRequirements.capabilities). */
  readonly capabilities: readonly string[];
  readonly description?: string;
  /**
   * How many subtasks one agent of this plugin may run at once (an integer 1–64; default 1). A
   * plugin that declares more is **reentrant**: `execute` is called again before earlier calls
   * return, in the same process, sharing the module's state, each call with its own `ctx`. For
   * plugins that mostly wait (network calls, model APIs): one agent's process, memory and limits
   * then serve that many subtasks.
   */
  readonly concurrency?: number;
  /** Runs one subtask; returns its outputs keyed by expectedOutputs names. */
  execute(
    subtask: SubtaskView,
    ctx: AgentPluginContext,
  ): Promise<Readonly<Record<string, unknown>>> | Readonly<Record<string, unknown>>;
}
