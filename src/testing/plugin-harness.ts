import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { createRootLogger } from '../logging/logger.js';
import type { AgentPlugin, AgentPluginContext, PluginLogger, SubtaskView } from '../plugin/types.js';
import { builtinTools, ToolBroker } from '../tools/broker.js';
import type { ToolUsage } from '../tools/types.js';

/** How to run one plugin call in a unit test. Everything is optional. */
export interface PluginTestOptions {
  /** `ctx.inputs`. */
  readonly inputs?: Readonly<Record<string, unknown>>;
  /** Overrides of the subtask the plugin sees (id 'test-subtask', attempt 1 by default). */
  readonly subtask?: Partial<SubtaskView>;
  /** Files written into the temporary workspace first, by relative path. */
  readonly files?: Readonly<Record<string, string>>;
  /** Tools the plugin may call (default: read, write, list). */
  readonly allowedTools?: readonly string[];
  /** Default 'restricted': the workspace is writable. */
  readonly fileSystemAccess?: 'read-only' | 'restricted' | 'full';
  /** Extra absolute folders readable through tools. */
  readonly readPaths?: readonly string[];
  /** Default: network 'none'. */
  readonly network?: { readonly level: 'none' | 'restricted' | 'full'; readonly allowedHosts?: readonly string[] };
  /** Default 100. */
  readonly maxToolCalls?: number;
  /** `ctx.signal`: abort it to test cancellation. */
  readonly signal?: AbortSignal;
  /** Answers `ctx.sync(pointId, value)`; without it, `ctx.sync` rejects ("not available in unit tests"). */
  readonly sync?: (pointId: string, value: unknown) => unknown;
  /** What `ctx.restore()` returns (a checkpointed state), default undefined. */
  readonly restore?: unknown;
  /** Keep the workspace folder after the run (its path is in the outcome). */
  readonly keepWorkspace?: boolean;
}

/** One log record the plugin wrote through `ctx.log`. */
export interface CapturedLog {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  readonly data: unknown;
  readonly msg?: string | undefined;
}

/** What a plugin call did: its outputs (or the error, as the coordinator would report it) and what it reported on the way. */
export interface PluginTestOutcome {
  /** The outputs, or AGENT_ERROR (the plugin threw) / the tool's error code (a tool call failed and the plugin let it through). */
  readonly result: Result<Readonly<Record<string, unknown>>, QiError>;
  readonly progress: readonly { readonly fraction: number; readonly note?: string | undefined }[];
  readonly logs: readonly CapturedLog[];
  /** Direct messages and publications, recorded instead of delivered. */
  readonly sent: readonly { readonly to: string; readonly message: unknown }[];
  readonly published: readonly { readonly topic: string; readonly message: unknown }[];
  /** Tool calls, file operations and refusals counted by the real tool broker. */
  readonly usage: ToolUsage;
  readonly workspace: string;
}

/** The error a plugin sees when a tool call fails: an Error with the QiError's code, as inside an agent. */
class ToolCallError extends Error {
  readonly code: string;
  constructor(readonly qiError: QiError) {
    super(qiError.message);
    this.name = 'QicoordError';
    this.code = qiError.code;
  }
}

function unavailable(what: string): Error {
  return new ToolCallError(qiError('NOT_FOUND', `ctx.${what} is not available in unit tests (runPluginForTest answers tools, progress, log, signal, sync with options.sync, send, publish and restore); test it with a real coordinator run`, { what }));
}

function writeFiles(workspace: string, files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.resolve(workspace, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/**
 * Runs an agent plugin's `execute(subtask, ctx)` in this process with a working plugin `ctx`:
 * `tools.call` is answered by the real tool broker (policy checks and budgets included) against a
 * temporary workspace, `progress` and `log` are recorded, `signal` is yours, `send`/`publish` are
 * recorded, `sync` is answered by `options.sync`; channels that need other agents (`subscribe`,
 * `messages`, `queue`) throw "not available in unit tests". The plugin runs unsandboxed: this
 * tests its logic, not its containment.
 */
export async function runPluginForTest(plugin: AgentPlugin, options: PluginTestOptions = {}): Promise<PluginTestOutcome> {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'qicoord-plugin-test-'));
  writeFiles(workspace, options.files ?? {});
  const fsAccess = options.fileSystemAccess ?? 'restricted';
  const broker = new ToolBroker(
    {
      agentId: 'test-agent',
      allowedTools: [...(options.allowedTools ?? ['read', 'write', 'list'])],
      prohibitedOperations: [],
      fileSystemAccess: fsAccess,
      workspace,
      readRoots: [workspace, ...(options.readPaths ?? [])],
      writeRoots: fsAccess === 'read-only' ? [] : [workspace],
      network: { level: options.network?.level ?? 'none', allowedHosts: [...(options.network?.allowedHosts ?? [])] },
      maxToolCalls: options.maxToolCalls ?? 100,
      maxFileOperations: options.maxToolCalls ?? 100,
      maxConcurrentOperations: 4,
      execute: { wrap: (command, args) => ({ command, args: [...args] }), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, defaultTimeoutMs: 10_000 },
    },
    builtinTools(),
    createRootLogger({ level: 'silent' }),
  );
  const progress: { fraction: number; note?: string | undefined }[] = [];
  const logs: CapturedLog[] = [];
  const sent: { to: string; message: unknown }[] = [];
  const published: { topic: string; message: unknown }[] = [];
  const signal = options.signal ?? new AbortController().signal;
  const logAt =
    (level: CapturedLog['level']) =>
    (data: unknown, msg?: string): void =>
      void logs.push({ level, data, msg });
  const log: PluginLogger = { trace: logAt('trace'), debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') };
  const ctx: AgentPluginContext = {
    inputs: options.inputs ?? {},
    agentId: 'test-agent',
    workspace,
    grants: { read: [workspace, ...(options.readPaths ?? [])], write: fsAccess === 'read-only' ? [] : [workspace] },
    tools: {
      async call<T>(name: string, args: Record<string, unknown> = {}): Promise<T> {
        const result = await broker.call(name, args, signal);
        if (result.tag === 'failure') throw new ToolCallError(result.error);
        return result.value as T;
      },
    },
    progress: (fraction, note) => void progress.push({ fraction, note }),
    log,
    signal,
    async sync<T>(pointId: string, value?: unknown): Promise<T> {
      if (options.sync === undefined) throw unavailable(`sync('${pointId}')`);
      return (await options.sync(pointId, value)) as T;
    },
    send: async (to, message) => void sent.push({ to, message }),
    publish: async (topic, message) => void published.push({ topic, message }),
    subscribe: () => {
      throw unavailable('subscribe');
    },
    messages: () => {
      throw unavailable('messages');
    },
    queue: () => {
      throw unavailable('queue');
    },
    restore: async <T>() => options.restore as T | undefined,
  };
  const subtask: SubtaskView = { id: 'test-subtask', parentTaskId: 'test-task', description: '', expectedOutputs: [], attempt: 1, ...options.subtask };
  let result: Result<Readonly<Record<string, unknown>>, QiError>;
  try {
    result = success(await plugin.execute(subtask, ctx));
  } catch (e) {
    if (e instanceof ToolCallError) result = failure(e.qiError);
    else {
      const error = e instanceof Error ? e : new Error(String(e));
      result = failure(qiError('AGENT_ERROR', `plugin '${plugin.name}' threw in subtask '${subtask.id}': ${error.message}`, { plugin: plugin.name, subtaskId: subtask.id, stack: error.stack }));
    }
  }
  if (options.keepWorkspace !== true) rmSync(workspace, { recursive: true, force: true });
  return { result, progress, logs, sent, published, usage: broker.usage(), workspace };
}
