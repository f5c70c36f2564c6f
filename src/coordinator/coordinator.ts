import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { DestinationStream, Logger } from 'pino';
import { loadConfig, resolveConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { AgentContext } from '../context.js';
import { TaskDistributionEngine } from '../distribution/engine.js';
import type { ResourceAllocation, TaskDistribution } from '../distribution/types.js';
import { qiError } from '../errors/catalogue.js';
import { EventBus } from '../events/bus.js';
import type { CoordinatorEvent } from '../events/types.js';
import { CoordinationExecutionEngine } from '../execution/engine.js';
import type { CoordinationResult, ExecutionStatus } from '../execution/types.js';
import { createRootLogger } from '../logging/logger.js';
import { loadPlugins } from '../plugins/load.js';
import { PluginProbeCache } from '../plugins/probe-cache.js';
import type { PluginProblem, PluginRegistry } from '../plugins/registry.js';
import { ResourceManager } from '../resources/index.js';
import { parseInput } from '../schemas/issues.js';
import type { SynchronizationPoint } from '../schemas/strategy.js';
import { SynchronizationPoint as PointSchema } from '../schemas/strategy.js';
import { SubAgentFactory } from '../subagent/factory.js';
import { coversPath } from '../subagent/grants.js';
import type { SubAgentInstance } from '../subagent/instance.js';
import type { AgentTransport } from '../subagent/transport.js';
import { resolveExecutor, transportForExecutor, type ExecutorOverride } from '../remote/executor.js';
import type { ToolDefinition } from '../tools/types.js';
import { SyncHub } from '../sync/index.js';
import { asResumed, journalNewRun, noJournalError, reopenRun } from './durable.js';
import { DEFAULT_JOURNAL_DIR } from '../journal/runs.js';
import type { CoordinationSummary, IMultiAgentCoordinator } from './interface.js';

export interface CoordinatorOptions {
  /** Where `.qicoordrc` is searched (default: process.cwd()). */
  readonly cwd?: string;
  /** A config object (no file is read), or an explicit config file. */
  readonly config?: unknown;
  readonly configPath?: string;
  /** The host's pino logger; default: a root logger on stderr at `logging.level`. */
  readonly logger?: Logger;
  /** Where the default root logger writes (default: pino JSON lines on stderr); ignored with `logger`. */
  readonly logDestination?: DestinationStream;
  /**
   * Agent plugin probes to share with other coordinators of this host (entries are keyed by
   * file version and sandbox settings); default: this coordinator's own.
   */
  readonly probeCache?: PluginProbeCache;
  /**
   * Where plugin probes are kept on disk when the config's `probeCache.file` is null (its
   * default): `qicoord`'s commands pass `.qicoord/probes.json` in the working directory; default
   * (absent): not on disk.
   */
  readonly probeFile?: string;
  /** What carries the agents: default the local sandboxed child; `inMemoryTransport()` from qicoord/testing runs plugins in-process (tests). */
  readonly transport?: AgentTransport;
  /** The executor over the config's (`qicoord run --executor/--connection`); ignored with `transport`. */
  readonly executor?: ExecutorOverride;
  /** Extra tools (tool plugins) agents may call, next to the built-ins, by name. */
  readonly tools?: ReadonlyMap<string, ToolDefinition>;
  /**
   * Durable runs (A11): every run's events are journaled under `<dir>/<runId>/`, and
   * `resume(runId)` continues one from there. `{ dir }`: there; `{}`: the config's `journal.dir`,
   * else `.qicoord/runs` in the process's working directory (what `qicoord run` does); `false`: never. Default (absent):
   * only when the config names a `journal.dir`.
   */
  readonly journal?: { readonly dir?: string } | false;
}

interface Parts {
  readonly config: Config;
  readonly logger: Logger;
  readonly factory: SubAgentFactory;
  readonly registry: PluginRegistry;
  readonly resources: ResourceManager;
  readonly distribution: TaskDistributionEngine;
  readonly execution: CoordinationExecutionEngine;
}

async function configFor(options: CoordinatorOptions): Promise<Result<Config, QiError>> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  if (options.config !== undefined) return resolveConfig(options.config, { filepath: null, dir: cwd });
  return loadConfig({ cwd, ...(options.configPath === undefined ? {} : { configPath: options.configPath }) });
}

/**
 * The spec's MultiAgentCoordinator: one facade over the SubAgent factory, the distribution and
 * execution engines, the resource manager and the plugin registry. Everything is set up on first
 * use (so `new MultiAgentCoordinator(id)` works as in the spec); `createCoordinator` sets it up
 * eagerly and reports a bad configuration at once. `close()` stops every agent it started.
 */
export class MultiAgentCoordinator implements IMultiAgentCoordinator {
  private parts: Promise<Result<Parts, QiError>> | undefined;
  private readonly bus = new EventBus<CoordinatorEvent>();
  private closed = false;

  constructor(
    readonly agentId: string,
    private readonly options: CoordinatorOptions = {},
  ) {}

  /** Sets everything up (idempotent). */
  init(): Promise<Result<Parts, QiError>> {
    this.parts ??= this.build();
    return this.parts;
  }

  private async build(): Promise<Result<Parts, QiError>> {
    const config = await configFor(this.options);
    if (config.tag === 'failure') return config;
    const logger = this.options.logger ?? createRootLogger({ level: config.value.logging.level, redact: config.value.logging.redact, ...(this.options.logDestination === undefined ? {} : { destination: this.options.logDestination }) });
    let execution: CoordinationExecutionEngine | undefined;
    const transport = this.options.transport === undefined ? this.transportFromExecutor(config.value) : success(this.options.transport);
    if (transport.tag === 'failure') return transport;
    const factory = new SubAgentFactory({
      parentAgentId: this.agentId,
      config: config.value,
      logger,
      ...(transport.value === undefined ? {} : { transport: transport.value }),
      ...(this.options.tools === undefined ? {} : { tools: this.options.tools }),
      onEvent: (event) => {
        const coordinationId = execution?.onAgentEvent(event);
        this.bus.emit({ type: 'agent', coordinationId, event, at: Date.now() });
      },
    });
    // Plugins are probed on this host even when the executor runs agents on workers: a remote
    // probe would be answered by the worker's copy (a host's own transport probes as it runs).
    const remote = this.options.transport === undefined && transport.value !== undefined;
    const prober = remote ? new SubAgentFactory({ parentAgentId: this.agentId, config: config.value, logger }) : factory;
    const registry = await loadPlugins({
      config: config.value,
      probe: (file) => prober.probePlugin(file),
      ...this.probeCacheFor(config.value, logger),
    });
    // One record per distinct cause (a missing sandbox fails every plugin the same way).
    const byCause = new Map<string, PluginProblem[]>();
    for (const p of registry.problems) {
      const key = `${p.error.code}\u0000${p.error.message}`;
      byCause.set(key, [...(byCause.get(key) ?? []), p]);
    }
    for (const problems of byCause.values()) {
      const { error } = problems[0]!;
      logger.error({ code: error.code, plugins: problems.map((p) => p.path), origins: [...new Set(problems.map((p) => p.origin))] }, `${problems.length === 1 ? 'a plugin' : `${problems.length} plugins`} could not be registered: ${error.message}`);
    }
    if (prober !== factory) await prober.close();
    factory.usePluginResolver(registry.resolver());
    const resources = new ResourceManager(config.value.resources);
    const emit = (event: CoordinatorEvent): void => this.bus.emit(event);
    execution = new CoordinationExecutionEngine({ config: config.value, factory, resources, registry, logger, emit });
    const distribution = new TaskDistributionEngine({ config: config.value, registry, logger, coordinatorId: this.agentId });
    return success({ config: config.value, logger, factory, registry, resources, distribution, execution });
  }

  /** The transport the executor asks for (config `executor`, then the command line's override); undefined: the local default. */
  private transportFromExecutor(config: Config): Result<AgentTransport | undefined, QiError> {
    const executor = resolveExecutor(config.executor, this.options.executor);
    return executor.tag === 'failure' ? executor : transportForExecutor(executor.value);
  }

  private async use<T>(fn: (p: Parts) => Promise<Result<T, QiError>> | Result<T, QiError>): Promise<Result<T, QiError>> {
    if (this.closed) return failure(qiError('CANCELLED', `coordinator ${this.agentId} is closed`, {}));
    const parts = await this.init();
    if (parts.tag === 'failure') return parts;
    try {
      return await fn(parts.value);
    } catch (e) {
      return failure(qiError('INTERNAL', `unexpected error in coordinator ${this.agentId}: ${e instanceof Error ? e.message : String(e)}`, { stack: e instanceof Error ? e.stack : undefined }));
    }
  }

  distributeTask(task: unknown, strategy: unknown, context: AgentContext = {}): Promise<Result<TaskDistribution, QiError>> {
    return this.use((p) => p.distribution.distributeTask(task, strategy, context));
  }

  spawnSubAgent(specification: unknown, context: AgentContext = {}): Promise<Result<SubAgentInstance, QiError>> {
    return this.use((p) => p.factory.createSubAgent(specification, context));
  }

  terminateSubAgent(agentId: string, reason: string): Promise<Result<void, QiError>> {
    return this.use((p) => p.factory.terminateSubAgent(agentId, reason));
  }

  executeDistributedTask(distribution: TaskDistribution, context: AgentContext = {}): Promise<Result<CoordinationResult, QiError>> {
    return this.use(async (p) => {
      const dir = this.journalDir(p.config);
      if (dir === undefined) return p.execution.executeDistributedTask(distribution, context);
      const journal = await journalNewRun(dir, distribution, p.config);
      if (journal.tag === 'failure') return journal;
      return p.execution.executeDistributedTask(distribution, context, { journal: journal.value });
    });
  }

  /**
   * The plugin probe cache: the host's, else one of this coordinator's own, kept on disk where
   * the config or the options say — never in a folder agents may write (an agent could plant
   * entries naming another plugin's capabilities there).
   */
  private probeCacheFor(config: Config, logger: Logger): { cache?: PluginProbeCache } {
    if (this.options.probeCache !== undefined) return { cache: this.options.probeCache };
    if (config.probeCache === false) return {};
    const file = config.probeCache.file ?? (this.options.probeFile === undefined ? undefined : path.resolve(this.options.probeFile));
    if (file === undefined) return {};
    const grant = config.sandbox.writePaths.find((w) => coversPath(w, file));
    if (grant === undefined) return { cache: new PluginProbeCache(undefined, file) };
    logger.info({ probeFile: file, writePath: grant }, `plugin probes are not kept in ${file}: agents may write there (sandbox.writePaths ${grant}); set probeCache.file elsewhere`);
    return { cache: new PluginProbeCache() };
  }

  /** Where this coordinator journals runs, or undefined (see CoordinatorOptions.journal). */
  journalDir(config: Config): string | undefined {
    const option = this.options.journal;
    if (option === false) return undefined;
    if (option?.dir !== undefined) return path.resolve(option.dir);
    if (config.journal === false) return undefined;
    if (config.journal.dir !== null) return config.journal.dir;
    return option === undefined ? undefined : path.resolve(DEFAULT_JOURNAL_DIR);
  }

  /**
   * Continues a journaled run (A11): succeeded subtasks keep their outputs and never run again,
   * attempts in flight when it stopped run again, released sync points keep their outcome. A
   * run that had finished is not run again: its stored result is rebuilt from the journal.
   * Refused while another live process runs it (RUN_LOCKED) or when the config changed
   * (INVALID_JOURNAL).
   */
  resume(runId: string, context: AgentContext = {}): Promise<Result<CoordinationResult, QiError>> {
    return this.use(async (p) => {
      const dir = this.journalDir(p.config);
      if (dir === undefined) return failure(noJournalError(runId));
      const reopened = reopenRun(dir, runId, p.config);
      if (reopened.tag === 'failure') return reopened;
      const { head, replay, ended, journal } = reopened.value;
      const plan = await p.distribution.distributeTask(head.task, head.strategy, context);
      if (plan.tag === 'failure') {
        journal.close();
        return plan;
      }
      const finished = ended !== undefined && ended['status'] !== 'cancelled';
      // A finished run is replayed without its journal: nothing runs, nothing is appended.
      if (finished) journal.close();
      return p.execution.executeDistributedTask(asResumed(plan.value, runId), context, finished ? { replay } : { journal, replay });
    });
  }

  monitorExecution(coordinationId: string): Promise<Result<ExecutionStatus, QiError>> {
    return this.use((p) => p.execution.monitorExecution(coordinationId));
  }

  getActiveAgents(): Promise<Result<SubAgentInstance[], QiError>> {
    return this.use((p) => p.factory.getActiveSubAgents());
  }

  allocateResources(requirements: unknown, constraints: unknown): Promise<Result<ResourceAllocation, QiError>> {
    return this.use((p) => p.resources.allocate(requirements, constraints, this.agentId));
  }

  releaseResources(allocation: ResourceAllocation): Promise<Result<void, QiError>> {
    return this.use((p) => p.resources.release(allocation));
  }

  /**
   * Synchronization points for agents already running (their plugins call `ctx.sync`): waits
   * until every point released, failed or timed out, and reports what happened. In
   * `participatingAgents`, '*' means every given agent.
   */
  coordinateAgents(agents: readonly SubAgentInstance[], synchronizationPoints: readonly SynchronizationPoint[]): Promise<Result<CoordinationSummary, QiError>> {
    return this.use(async (p) => {
      const points: SynchronizationPoint[] = [];
      for (const [i, point] of synchronizationPoints.entries()) {
        const parsed = parseInput(PointSchema, point, { code: 'INVALID_SPEC', what: 'synchronization point', root: `synchronizationPoints[${i}]` });
        if (parsed.tag === 'failure') return parsed;
        points.push(parsed.value);
      }
      const valid = SyncHub.validate(points);
      if (valid.tag === 'failure') return valid;
      const handles = agents.map((a) => p.factory.get(a.id));
      const missing = agents.filter((_, i) => handles[i] === undefined).map((a) => a.id);
      if (missing.length > 0) return failure(qiError('NOT_FOUND', `coordinateAgents: agents not active: ${missing.join(', ')}`, { missing }));
      const coordinationId = `coord-${randomUUID()}`;
      let events = 0;
      const hub = new SyncHub({
        points,
        allSubtasks: agents.map((a) => a.id),
        failureHandling: 'graceful-degradation',
        checkpointDir: path.join(p.config.sandbox.workspaceRoot, 'runs', coordinationId),
        onEvent: (event) => {
          events++;
          this.bus.emit({ type: 'sync', coordinationId, event: { ...event }, at: Date.now() });
        },
      });
      for (const handle of handles) {
        handle!.setCoordination({ sync: (agent, subtaskId, pointId, value) => hub.arrive(pointId, subtaskId, agent.id, value) });
        void handle!.exited.then(() => hub.departAgent(handle!.id));
      }
      const outcomes = await Promise.all(points.map((point) => hub.settled(point.id)));
      const reached = outcomes.filter((o) => o.status === 'released').length;
      hub.close();
      return success({ coordinationId, participatingAgents: agents.length, synchronizationPointsReached: reached, communicationEvents: events, overallSuccess: reached === points.length });
    });
  }

  /** Every coordinator event from now on (lifecycle, progress, usage, sync, channels). */
  events(): AsyncIterableIterator<CoordinatorEvent> {
    return this.bus.subscribe();
  }

  /** The plugin registry (agent types and strategies with their sources). */
  async plugins(): Promise<Result<PluginRegistry, QiError>> {
    return this.use((p) => success(p.registry));
  }

  /**
   * `cancel(reason)`: cancels every execution in progress. `cancel(runId, { subtaskId?, reason })`:
   * one run, or one subtask of it with its delegated subtree. Running plugins see `ctx.signal`
   * abort, get `sandbox.killGraceMs` to return, then their agents are killed; every cancelled
   * subtask ends `cancelled` with CANCELLED and the reason; partial results are kept.
   */
  async cancel(reason: string): Promise<void>;
  async cancel(runId: string, options: { readonly subtaskId?: string; readonly reason: string }): Promise<Result<void, QiError>>;
  async cancel(first: string, options?: { readonly subtaskId?: string; readonly reason: string }): Promise<Result<void, QiError> | void> {
    const parts = this.parts === undefined ? undefined : await this.parts;
    if (options === undefined) {
      if (parts?.tag === 'success') void parts.value.execution.cancelAll(first);
      return;
    }
    if (parts?.tag !== 'success') return failure(qiError('NOT_FOUND', `coordination ${first} is unknown: this coordinator runs nothing`, { coordinationId: first }));
    return parts.value.execution.cancel(first, options.subtaskId, options.reason);
  }

  /** The resolved configuration (after `init`). */
  async configuration(): Promise<Result<Config, QiError>> {
    return this.use((p) => success(p.config));
  }

  /** Cancels running executions and stops every SubAgent; nothing keeps running. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const parts = this.parts === undefined ? undefined : await this.parts;
    if (parts?.tag === 'success') {
      // Every run reports its end (run-end, its result) before the event stream closes.
      await Promise.all([parts.value.execution.cancelAll(`coordinator ${this.agentId} closed`), parts.value.factory.close()]);
      parts.value.resources.close();
    }
    this.bus.close();
  }
}

/** Creates a coordinator and sets it up (config, plugins, engines); a failure names what is wrong. */
export async function createCoordinator(options: CoordinatorOptions & { readonly agentId?: string } = {}): Promise<Result<MultiAgentCoordinator, QiError>> {
  const coordinator = new MultiAgentCoordinator(options.agentId ?? 'qicoord', options);
  const parts = await coordinator.init();
  return parts.tag === 'failure' ? parts : success(coordinator);
}
