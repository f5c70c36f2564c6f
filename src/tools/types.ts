import type { QiError, Result } from '@qi/base';
import type { z } from 'zod';
import type { Logger } from '../logging/logger.js';

/** How the `execute` tool starts processes for one agent. */
export interface ExecutePolicy {
  /** Puts the agent's OS wrappers (bwrap, setpriv, prlimit, …) around a command line. */
  readonly wrap: (command: string, args: readonly string[]) => { command: string; args: string[] };
  /** The seccomp program the wrappers read from fd 4, or null when they read none. */
  readonly seccompFilter?: Uint8Array | null;
  /** The whole environment of an executed process (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Default and maximum run time of one executed process, in ms. */
  readonly defaultTimeoutMs: number;
}

/** What one agent may do through tools; built by the caller from the agent's constraints. */
export interface ToolPolicy {
  readonly agentId: string;
  /** Exact tool names the agent may call. */
  readonly allowedTools: readonly string[];
  /** Tool names or operation classes ('fs.write', or a prefix such as 'fs') the agent may not use. */
  readonly prohibitedOperations: readonly string[];
  readonly fileSystemAccess: 'read-only' | 'restricted' | 'full';
  /** Absolute; relative tool paths resolve here. */
  readonly workspace: string;
  /** Absolute dirs readable through tools (the caller includes the workspace). */
  readonly readRoots: readonly string[];
  /** Absolute dirs writable under 'restricted' (and readable too); ignored for 'full'; none for 'read-only'. */
  readonly writeRoots: readonly string[];
  readonly network: { readonly level: 'none' | 'restricted' | 'full'; readonly allowedHosts: readonly string[] };
  readonly maxToolCalls: number;
  readonly maxFileOperations: number;
  /** Tool runs in flight at once; further calls wait in FIFO order (values < 1 count as 1). */
  readonly maxConcurrentOperations: number;
  readonly execute: ExecutePolicy;
}

/** What a tool's `run` gets from the broker: the policy, cancellation, a logger and the policy checks. */
export interface ToolContext {
  readonly policy: ToolPolicy;
  /** Aborted when the call is cancelled; tools pass it to what they start. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Resolves `p` (relative to the workspace, symlinks followed) and checks it is readable; the path to open. */
  checkRead(p: string): Promise<Result<string, QiError>>;
  /** Resolves `p` (symlinks followed) and checks it is writable; the path to open with O_NOFOLLOW. */
  checkWrite(p: string): Promise<Result<string, QiError>>;
  /**
   * Confirms what was opened from a checked path (`fd`) is still inside the readable or writable
   * roots; call it before reading or writing through `fd` (the agent may have swapped a folder
   * on the path for a link after the check). FS_DENIED when it is not.
   */
  confirmOpened(op: 'read' | 'write', p: string, fd: number): Promise<Result<void, QiError>>;
  /** Checks the network policy allows a request to `url`. */
  checkHost(url: URL): Result<void, QiError>;
}

/** A tool the broker can run: built-in or from a plugin. */
export interface ToolDefinition<A = unknown> {
  readonly name: string;
  /** Operation class: 'fs.read' | 'fs.write' | 'net' | 'process' | a plugin's own. */
  readonly operation: string;
  /** Counted against maxFileOperations. */
  readonly fileOperation: boolean;
  /** Counted as a network request. */
  readonly networkRequest: boolean;
  /** Schema of the arguments; the broker validates before `run`. */
  readonly args: z.ZodType<A>;
  /** Runs the tool; expected failures are Results, never throws. */
  run(args: A, ctx: ToolContext): Promise<Result<unknown, QiError>>;
}

/** What an agent has used through the broker so far. */
export interface ToolUsage {
  toolCalls: number;
  fileOperations: number;
  networkRequests: number;
  /**
   * Calls refused: by the broker before running (unknown/unallowed/prohibited tool, bad arguments,
   * budget spent; these spend no budget), or by a tool's own fs/network check (AUTHORIZATION
   * failures; these ran, so they also count in toolCalls).
   */
  deniedCalls: number;
}

/** Typed identity helper for tool definitions: infers `A` from the schema. */
export function defineTool<A>(definition: ToolDefinition<A>): ToolDefinition<A> {
  return definition;
}
