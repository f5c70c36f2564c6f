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
}

/** An agent plugin: loaded inside the SubAgent's child process. */
export interface AgentPlugin {
  /** Unique among loaded plugins. */
  readonly name: string;
  readonly type: AgentType;
  /** What subtasks it can run (matched against agentRequirements.capabilities). */
  readonly capabilities: readonly string[];
  readonly description?: string;
  /** Runs one subtask; returns its outputs keyed by expectedOutputs names. */
  execute(
    subtask: SubtaskView,
    ctx: AgentPluginContext,
  ): Promise<Readonly<Record<string, unknown>>> | Readonly<Record<string, unknown>>;
}
