import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import pino from 'pino';
import { defaultConfig } from '../config/load.js';
import { qiError } from '../errors/catalogue.js';
import type { AgentPlugin, SubtaskView } from '../plugin/types.js';
import { parseInput } from '../schemas/issues.js';
import { SubAgentSpecification } from '../schemas/spec.js';
import { SubTask } from '../schemas/task.js';
import { SubAgent, type ChannelRequest } from '../subagent/agent.js';
import { inMemoryTransport } from '../subagent/in-memory-transport.js';
import { deriveConfiguration } from '../subagent/configuration.js';
import { emptyUsage, type SubAgentInstance } from '../subagent/instance.js';
import { ResourceMonitor } from '../subagent/monitor.js';
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
  /**
   * Answers `ctx.delegate`: called once per request (as the plugin wrote it), returns the child's
   * outputs or throws to fail it (the plugin's call rejects as it would in a run); without it,
   * `ctx.delegate` rejects ("not available in unit tests"). The requests are recorded in `delegated`.
   */
  readonly delegate?: (request: Readonly<Record<string, unknown>>) => unknown;
  /** What `ctx.restore()` returns (a checkpointed state), default undefined. */
  readonly restore?: unknown;
  /** Direct messages `ctx.messages()` yields, delivered when the subtask starts. */
  readonly messages?: readonly { readonly from: string; readonly body: unknown }[];
  /** Messages `ctx.subscribe(topic)` yields, by topic; subscribing to a topic not listed ends the run with "not available in unit tests". */
  readonly topics?: Readonly<Record<string, readonly unknown[]>>;
  /** Starting contents of `ctx.queue(name)` queues (any other queue starts empty); pushes append. */
  readonly queues?: Readonly<Record<string, readonly unknown[]>>;
  /** The subtask's deadline (default 10,000 ms): a plugin waiting on something no test provides ends with TIME_LIMIT. */
  readonly timeoutMs?: number;
  /** Keep the workspace folder after the run (its path is in the outcome). */
  readonly keepWorkspace?: boolean;
}

/** One log record the plugin wrote through `ctx.log`: its data object (undefined for text only) and its message. */
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
  /** Every `ctx.delegate` request, in order (answered by `options.delegate`). */
  readonly delegated: readonly Readonly<Record<string, unknown>>[];
  /** Tool calls, file operations and refusals counted by the real tool broker. */
  readonly usage: ToolUsage;
  readonly workspace: string;
}

const LEVELS: Record<number, CapturedLog['level']> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error' };

function unavailable(what: string, hint: string): QiError {
  return qiError('NOT_FOUND', `ctx.${what} is not available in unit tests${hint}; test it with a real coordinator run`, { what });
}

function writeFiles(workspace: string, files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.resolve(workspace, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** The plugin's own log records, out of the agent's log budget (the coordinator's records about the agent are left out). */
function logCapture(logs: CapturedLog[]): pino.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const record = JSON.parse(line) as { level: number; fromAgent?: boolean; data?: unknown; msg?: string };
        if (record.fromAgent === true) logs.push({ level: LEVELS[record.level] ?? 'info', data: record.data, msg: record.msg === '' ? undefined : record.msg });
      }
      done();
    },
  });
  return pino({ level: 'trace' }, sink);
}

/**
 * Runs an agent plugin's `execute(subtask, ctx)` in this process on the in-memory transport: the
 * plugin gets the `ctx` it gets inside a SubAgent (the sandbox's own runtime), and its messages
 * go through the same channel checks and SubAgent as in a run. `tools.call` is answered by the
 * real tool broker (policy checks and budgets included) against a temporary workspace seeded
 * with `options.files`; `progress` and `log` are recorded; `options.signal` cancels the subtask
 * (ctx.signal aborts); `sync` is answered by `options.sync`; `send`/`publish` are recorded;
 * `messages`, `subscribe` and `queue` are fed from `options.messages`, `options.topics` and
 * `options.queues`; `restore` returns `options.restore`. The plugin runs unsandboxed: this tests
 * its logic, not its containment.
 */
export async function runPluginForTest(plugin: AgentPlugin, options: PluginTestOptions = {}): Promise<PluginTestOutcome> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'qicoord-plugin-test-'));
  const config = defaultConfig(root);
  const sandbox = { ...config.sandbox, workspaceRoot: root, keepWorkspace: true, readPaths: [...(options.readPaths ?? [])], writePaths: [] };
  const progress: { fraction: number; note?: string | undefined }[] = [];
  const logs: CapturedLog[] = [];
  const sent: { to: string; message: unknown }[] = [];
  const published: { topic: string; message: unknown }[] = [];
  const delegated: Readonly<Record<string, unknown>>[] = [];
  const logger = logCapture(logs);
  const fsAccess = options.fileSystemAccess ?? 'restricted';
  const allowedTools = [...(options.allowedTools ?? ['read', 'write', 'list'])];
  const parsedSpec = parseInput(SubAgentSpecification, {
    agentType: plugin.type,
    capabilities: plugin.capabilities.length > 0 ? [...plugin.capabilities] : ['any'],
    resourceLimits: { maxMemoryMB: 512, maxExecutionTimeMs: options.timeoutMs ?? 10_000, maxConcurrentOperations: 4, maxToolCalls: options.maxToolCalls ?? 100, allowedNetworkHosts: [...(options.network?.allowedHosts ?? [])], maxFileOperations: options.maxToolCalls ?? 100 },
    securityConstraints: { sandboxEnabled: false, allowedTools, prohibitedOperations: [], networkAccessLevel: options.network?.level ?? 'none', fileSystemAccess: fsAccess, resourceMonitoring: false },
    isolationLevel: 'monitored',
    parentAgentId: 'test',
  }, { code: 'INVALID_SPEC', what: 'runPluginForTest options', root: 'options' });
  const view: SubtaskView = { id: 'test-subtask', parentTaskId: 'test-task', description: '', expectedOutputs: [], attempt: 1, ...options.subtask };
  const parsedSubtask = parseInput(SubTask, { id: view.id, parentTaskId: view.parentTaskId, description: view.description, expectedOutputs: view.expectedOutputs.map((o) => ({ ...o })) }, { code: 'INVALID_TASK', what: 'options.subtask', root: 'subtask' });
  const none = { toolCalls: 0, fileOperations: 0, networkRequests: 0, deniedCalls: 0 };
  if (parsedSpec.tag === 'failure' || parsedSubtask.tag === 'failure') {
    rmSync(root, { recursive: true, force: true });
    return { result: parsedSpec.tag === 'failure' ? parsedSpec : (parsedSubtask as Extract<typeof parsedSubtask, { tag: 'failure' }>), progress, logs, sent, published, delegated, usage: none, workspace: root };
  }
  const spec = parsedSpec.value;
  const subtask = parsedSubtask.value;
  const transport = inMemoryTransport({ loadPlugin: () => ({ default: plugin }) });
  const started = await transport.start({
    agentId: 'test-agent',
    spec,
    plugin: { path: path.join(root, `${plugin.name}.plugin`), readPaths: [] },
    sandbox,
    logLevel: 'trace',
    logger,
    timeoutMs: 10_000,
  });
  if (started.tag === 'failure') {
    rmSync(root, { recursive: true, force: true });
    return { result: started, progress, logs, sent, published, delegated, usage: none, workspace: root };
  }
  const connection = started.value;
  const workspace = connection.boundary.workspace;
  writeFiles(workspace, options.files ?? {});
  const broker = new ToolBroker(
    {
      agentId: 'test-agent',
      allowedTools,
      prohibitedOperations: [],
      fileSystemAccess: fsAccess,
      workspace,
      readRoots: [workspace, ...(options.readPaths ?? [])],
      writeRoots: fsAccess === 'read-only' ? [] : [workspace],
      network: { level: options.network?.level ?? 'none', allowedHosts: [...(options.network?.allowedHosts ?? [])] },
      maxToolCalls: options.maxToolCalls ?? 100,
      maxFileOperations: options.maxToolCalls ?? 100,
      maxConcurrentOperations: 4,
      execute: { ...connection.boundary.execute, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, defaultTimeoutMs: 10_000 },
    },
    builtinTools(),
    logger,
  );
  const queues = new Map(Object.entries(options.queues ?? {}).map(([name, items]) => [name, [...items]]));
  let queued = 0;
  // A ctx call no test provides for ends the run with what is missing (the plugin may not see it: subscribe is fire-and-forget).
  let missing: QiError | undefined;
  let agent: SubAgent | undefined;
  const endWith = (error: QiError): Result<unknown, QiError> => {
    missing ??= error;
    void agent?.terminate(error.message, 'terminated', true);
    return failure(error);
  };
  const channel = async (_agent: SubAgent, subtaskId: string, request: ChannelRequest): Promise<Result<unknown, QiError>> => {
    switch (request.op) {
      case 'send':
        sent.push({ to: request.target ?? '', message: request.body });
        return success(null);
      case 'publish':
        published.push({ topic: request.target ?? '', message: request.body });
        return success(null);
      case 'restore':
        return success(options.restore ?? null);
      case 'subscribe': {
        const topic = request.target ?? '';
        const items = options.topics?.[topic];
        if (items === undefined) return endWith(unavailable('subscribe', ` for topic '${topic}' unless options.topics lists its messages`));
        for (const body of items) agent?.deliver({ stream: 'topic', topic, from: 'test', body });
        return success(null);
      }
      case 'queue-push':
        queues.set(request.target ?? '', [...(queues.get(request.target ?? '') ?? []), request.body]);
        return success(null);
      case 'queue-pull': {
        const items = queues.get(request.target ?? '') ?? [];
        return success(items.length === 0 ? null : { id: `${subtaskId}-${queued++}`, body: items.shift() });
      }
      default:
        return success(null);
    }
  };
  /** `ctx.delegate` in a unit test: each request answered by `options.delegate`, in order. */
  const delegateInTest = async (requests: readonly Record<string, unknown>[]): Promise<Result<unknown, QiError>> => {
    delegated.push(...requests);
    if (options.delegate === undefined) return failure(unavailable('delegate()', ' unless options.delegate answers it'));
    const outputs: unknown[] = [];
    for (const request of requests) {
      try {
        outputs.push((await options.delegate(request)) ?? {});
      } catch (e) {
        return failure(qiError('AGENT_ERROR', `sub-agent failed: ${e instanceof Error ? e.message : String(e)}`, { request }));
      }
    }
    return success(outputs);
  };
  const now = new Date();
  const instance: SubAgentInstance = {
    id: 'test-agent',
    specification: spec,
    status: 'ready',
    createdAt: now,
    lastActivity: now,
    assignedTasks: [],
    resourceUsage: emptyUsage(),
    performanceMetrics: { tasksCompleted: 0, successRate: 0, averageExecutionTime: 0, errorCount: 0 },
    pid: 0,
    plugin: connection.plugin,
    workspace,
    warm: false,
    layers: connection.boundary.layers,
    isolationLevel: 'monitored',
    configuration: deriveConfiguration('test-agent', spec, {}),
  };
  const monitor = new ResourceMonitor(1000, 1000, logger);
  agent = new SubAgent({
    instance,
    connection,
    monitor,
    logger,
    killGraceMs: 100,
    services: {
      tool: (_agent, _subtaskId, name, args, signal) => broker.call(name, args, signal),
      toolUsage: () => broker.usage(),
      sync: async (_agent, _subtaskId, pointId, value) =>
        options.sync === undefined ? failure(unavailable(`sync('${pointId}')`, ' unless options.sync answers it')) : success((await options.sync(pointId, value)) ?? null),
      channel,
      delegate: (_agent, _subtaskId, requests, answer) => void delegateInTest(requests).then(answer),
    },
    onEvent: (event) => {
      if (event.type === 'progress') progress.push({ fraction: event.fraction, note: event.note });
    },
    onExit: async () => undefined,
  });
  const running = agent.execute(subtask, { ...options.inputs }, view.attempt);
  for (const message of options.messages ?? []) agent.deliver({ stream: 'direct', from: message.from, body: message.body });
  const cancel = (): void => agent?.cancel('cancelled by the test (options.signal)');
  if (options.signal?.aborted === true) cancel();
  else options.signal?.addEventListener('abort', cancel, { once: true });
  const outcome = await running;
  options.signal?.removeEventListener('abort', cancel);
  await agent.terminate('test done', 'completed');
  await monitor.stop();
  await transport.close();
  const result: Result<Readonly<Record<string, unknown>>, QiError> =
    missing !== undefined ? failure(missing) : outcome.tag === 'success' ? success(outcome.value.outputs) : outcome;
  if (options.keepWorkspace !== true) rmSync(root, { recursive: true, force: true });
  return { result, progress, logs, sent, published, delegated, usage: broker.usage(), workspace };
}
