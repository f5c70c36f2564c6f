import { randomUUID } from 'node:crypto';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AgentContext } from '../context.js';
import { qiError } from '../errors/catalogue.js';
import { agentLogger, componentLogger, logPerformance } from '../logging/logger.js';
import { parseInput } from '../schemas/issues.js';
import type { ResourceLimits } from '../schemas/resources.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import { SubAgentSpecification as SpecSchema } from '../schemas/spec.js';
import { ToolBroker } from '../tools/broker.js';
import { builtinTools } from '../tools/builtin/index.js';
import type { ToolDefinition, ToolPolicy } from '../tools/types.js';
import type { AgentEvent, AgentServices } from './agent.js';
import { SubAgent } from './agent.js';
import { deriveConfiguration, effectiveSpecification } from './configuration.js';
import { buildAgentEnv } from './env.js';
import { detectHost } from './host.js';
import { emptyUsage, type PluginInfo, type SubAgentInstance } from './instance.js';
import { planLaunch } from './launch.js';
import { FdHeadroom, spawnThrew } from './fd-headroom.js';
import { ResourceMonitor } from './monitor.js';
import { RUNTIME, runtimePaths, type RuntimePaths } from './package-root.js';
import type { PluginResolver, PluginSource } from './plugin-source.js';
import { defaultPluginResolver, pluginFromFile } from './plugin-source.js';
import { WarmPool, type PooledAgent } from './pool.js';
import { startProcess, type StartedProcess } from './start.js';
import { findEscapingLinks } from './symlinks.js';
import type { LaunchPlan } from './types.js';
import { AgentCgroup, type CgroupHost, detectCgroups, removeCgroupParents } from './cgroups.js';
import { agentIdentity, unreadablePath, untraversableAncestors } from './identity.js';
import { createWorkspace, removeWorkspace } from './workspace.js';

/** Coordination services the execution engine lends an agent (sync points, channels). */
export type CoordinationServices = Pick<AgentServices, 'sync' | 'channel'>;

export interface FactoryOptions {
  readonly parentAgentId: string;
  readonly config: Config;
  readonly logger: Logger;
  readonly pluginResolver?: PluginResolver;
  /** Extra tools (tool plugins) next to the built-ins. */
  readonly tools?: ReadonlyMap<string, ToolDefinition>;
  readonly onEvent?: (event: AgentEvent) => void;
  /** Ready timeout for a new agent. */
  readonly startTimeoutMs?: number;
}

/** Options of one spawn. */
export interface SpawnRequest {
  readonly services?: CoordinationServices;
  /** Use (and refill) the warm pool for this profile. Default: config pool.enabled. */
  readonly pooled?: boolean;
  /** Refill the pool in the background after taking from it (default true; a run never refills it). */
  readonly refill?: boolean;
}

interface Prepared {
  readonly spec: SubAgentSpecification;
  readonly plugin: PluginSource;
  readonly profileKey: string;
}

interface PoolEntry extends PooledAgent {
  readonly started: StartedProcess;
  readonly plan: LaunchPlan;
  /** The agent's cgroup (`sandbox` where the host has cgroups), removed when the agent ends. */
  readonly cgroup: AgentCgroup | null;
}

/** Memory a `sandbox` agent's cgroup allows on top of maxMemoryMB: the Node runtime itself. */
const CGROUP_RUNTIME_MB = 64;
/** Processes (and threads) one `sandbox` agent may have at once: Node's own threads and some room. */
const CGROUP_MAX_PIDS = 256;

function agentIdFor(parent: string, n: number): string {
  return `${parent.replace(/[^A-Za-z0-9._:-]/g, '_')}.sa${n}-${randomUUID().slice(0, 8)}`;
}

/**
 * The spec's SubAgentFactory, made real: validates a specification, checks the memory budget,
 * derives the agent's configuration, and starts a sandboxed Node child process whose flags,
 * environment and limits come from the specification (or hands out a pre-started one of the
 * same security profile from the warm pool). It owns every agent it started: `close()` stops
 * them all, and a process-exit hook SIGKILLs any that remain.
 */
export class SubAgentFactory {
  private readonly agents = new Map<string, SubAgent>();
  private readonly monitor: ResourceMonitor;
  private readonly log: Logger;
  private readonly pool: WarmPool<PoolEntry>;
  private readonly tools: ReadonlyMap<string, ToolDefinition>;
  private counter = 0;
  private closed = false;
  private resolver: PluginResolver;
  private readonly exitHook = (): void => this.killAllNow();
  /** Where agent cgroups can be made; detected on the first `sandbox` agent (undefined: not yet). */
  private cgroupHost: CgroupHost | null | undefined;
  /** Every agent cgroup made (removing one twice is harmless): close() waits until all are gone. */
  private readonly cgroups = new Set<AgentCgroup>();
  private readonly fds = new FdHeadroom();
  /** Spawns in flight (their descriptors are not all open yet). */
  private starting = 0;
  /** Where the sandbox runtime is installed (a failure refuses every spawn, never throws). */
  private readonly runtime: Result<RuntimePaths, QiError> = runtimePaths();

  constructor(private readonly o: FactoryOptions) {
    this.log = componentLogger(o.logger, 'SubAgentFactory');
    this.monitor = new ResourceMonitor(o.config.monitor.pollIntervalMs, o.config.monitor.cpuWindowMs, this.log);
    this.pool = new WarmPool(o.config.pool.enabled ? o.config.pool.size : 0, o.config.pool.maxTotal);
    this.tools = new Map([...builtinTools(), ...(o.tools ?? new Map())]);
    this.resolver = o.pluginResolver ?? defaultPluginResolver;
    process.once('exit', this.exitHook);
  }

  /** Spec operation: create and start a SubAgent; its instance is returned when it is ready. */
  async createSubAgent(specification: unknown, context: AgentContext = {}, request: SpawnRequest = {}): Promise<Result<SubAgentInstance, QiError>> {
    const agent = await this.spawn(specification, context, request);
    return agent.tag === 'success' ? success(agent.value.instance) : agent;
  }

  /** Like createSubAgent, but returns the live handle the execution engine drives. */
  async spawn(specification: unknown, context: AgentContext = {}, request: SpawnRequest = {}): Promise<Result<SubAgent, QiError>> {
    if (this.closed) return failure(qiError('CANCELLED', 'the SubAgent factory is closed'));
    const started = performance.now();
    const prepared = this.prepare(specification, context);
    if (prepared.tag === 'failure') return prepared;
    const { spec } = prepared.value;
    const budget = this.checkResourceAvailability(spec.resourceLimits);
    if (budget.tag === 'failure') return budget;

    const pooled = request.pooled ?? this.o.config.pool.enabled;
    const fromPool = pooled ? this.pool.take(prepared.value.profileKey) : undefined;
    const entry = fromPool === undefined ? await this.startGuarded(prepared.value) : success(fromPool);
    if (pooled && request.refill !== false) this.pool.refill(prepared.value.profileKey, () => this.startGuarded(prepared.value));
    if (entry.tag === 'failure') return entry;

    const agent = this.adopt(entry.value, spec, context, request.services, fromPool !== undefined);
    logPerformance(this.log, 'createSubAgent', performance.now() - started, true, {
      agentId: agent.id,
      agentType: spec.agentType,
      isolationLevel: agent.instance.isolationLevel,
      warm: fromPool !== undefined,
    });
    return success(agent);
  }

  /**
   * Loads an agent plugin in a sandboxed child (restricted, read-only, no network) and returns
   * what it says about itself, without ever importing it into the coordinator.
   */
  async probePlugin(file: string): Promise<Result<PluginInfo, QiError>> {
    const plugin = pluginFromFile(file);
    if (plugin.tag === 'failure') return plugin;
    const d = this.o.config.defaults;
    const spec: SubAgentSpecification = {
      agentType: 'basic',
      capabilities: ['plugin-probe'],
      resourceLimits: { ...d.resourceLimits, allowedNetworkHosts: [], maxMemoryMB: Math.min(d.resourceLimits.maxMemoryMB, 128), maxToolCalls: 0, maxFileOperations: 0 },
      securityConstraints: { ...d.securityConstraints, allowedTools: [], prohibitedOperations: [], networkAccessLevel: 'none', fileSystemAccess: 'read-only' },
      isolationLevel: d.isolationLevel,
      parentAgentId: this.o.parentAgentId,
    };
    const entry = await this.startGuarded({ spec, plugin: plugin.value, profileKey: '' });
    if (entry.tag === 'failure') return entry;
    await entry.value.discard();
    return success(entry.value.started.plugin);
  }

  /** Resolves plugins through the registry from now on (after the registry has been loaded). */
  usePluginResolver(resolver: PluginResolver): void {
    this.resolver = resolver;
  }

  /** Tops up the warm pool of a specification's profile in the background (a host expecting more agents of it; runs never do). */
  refillPool(specification: unknown, context: AgentContext = {}): void {
    if (!this.o.config.pool.enabled || this.closed) return;
    const prepared = this.prepare(specification, context);
    if (prepared.tag === 'success') this.pool.refill(prepared.value.profileKey, () => this.startGuarded(prepared.value));
  }

  /** Pre-starts `count` agents of a specification's profile (warm pool). */
  async prewarm(specification: unknown, count: number): Promise<Result<number, QiError>> {
    const prepared = this.prepare(specification);
    if (prepared.tag === 'failure') return prepared;
    const entries = await Promise.all(Array.from({ length: count }, () => this.startGuarded(prepared.value)));
    for (const e of entries) if (e.tag === 'success') this.pool.put(prepared.value.profileKey, e.value);
    const failed = entries.find((e) => e.tag === 'failure');
    return failed?.tag === 'failure' ? failed : success(entries.length);
  }

  /** Spec operation: stop an agent and forget it. */
  async terminateSubAgent(agentId: string, reason: string): Promise<Result<void, QiError>> {
    const agent = this.agents.get(agentId);
    if (agent === undefined) return failure(qiError('NOT_FOUND', `SubAgent ${agentId} is not active`, { agentId, reason }));
    await agent.terminate(reason);
    this.agents.delete(agentId);
    return success(undefined);
  }

  /** Spec operation: the live agents, with fresh usage figures. */
  async getActiveSubAgents(): Promise<Result<SubAgentInstance[], QiError>> {
    return success([...this.agents.values()].filter((a) => a.alive).map((a) => a.instance));
  }

  /** Agents waiting ready in the warm pool, all profiles together. */
  get warmCount(): number {
    return this.pool.readyCount;
  }

  /** The live handle of an agent. */
  get(agentId: string): SubAgent | undefined {
    return this.agents.get(agentId);
  }

  /**
   * The spec's checkResourceAvailability with the real budget: `resources.maxTotalMemory` minus
   * the memory limits of the live agents.
   */
  checkResourceAvailability(limits: ResourceLimits): Result<void, QiError> {
    const held = [...this.agents.values()].filter((a) => a.alive).reduce((sum, a) => sum + a.instance.specification.resourceLimits.maxMemoryMB, 0);
    const available = this.o.config.resources.maxTotalMemory - held;
    if (limits.maxMemoryMB > available) {
      return failure(
        qiError('INSUFFICIENT_RESOURCES', `a SubAgent needs ${limits.maxMemoryMB} MB but only ${available} MB of resources.maxTotalMemory (${this.o.config.resources.maxTotalMemory} MB) is free`, {
          requestedMB: limits.maxMemoryMB,
          availableMB: available,
          heldMB: held,
        }),
      );
    }
    return success(undefined);
  }

  /** Stops every agent (pooled ones too) and waits for all of them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
    await Promise.all([...this.agents.values()].map((a) => a.terminate('coordinator closed')));
    this.agents.clear();
    await this.monitor.stop();
    await Promise.all([...this.cgroups].map((c) => c.remove()));
    this.cgroups.clear();
    if (this.cgroupHost != null) removeCgroupParents(this.cgroupHost);
    process.removeListener('exit', this.exitHook);
  }

  /** The agent's cgroup at `sandbox` where the host allows one; null otherwise (recorded as a missing layer). */
  private createCgroup(spec: SubAgentSpecification, agentId: string): AgentCgroup | null {
    if (spec.isolationLevel !== 'sandbox') return null;
    this.cgroupHost ??= detectCgroups();
    if (this.cgroupHost === null) return null;
    const limits = spec.resourceLimits;
    const made = AgentCgroup.create(this.cgroupHost, agentId, {
      memoryBytes: (limits.maxMemoryMB + CGROUP_RUNTIME_MB) * 1024 * 1024,
      cpuPercent: limits.maxCpuPercent,
      maxPids: CGROUP_MAX_PIDS,
    });
    if (made instanceof Error) {
      this.log.warn({ agentId, err: made.message }, 'could not create the agent cgroup; running without kernel caps');
      return null;
    }
    this.cgroups.add(made);
    return made;
  }

  private killAllNow(): void {
    for (const agent of this.agents.values()) if (agent.alive) agent.killNow();
  }

  private prepare(specification: unknown, context: AgentContext = {}): Result<Prepared, QiError> {
    const parsed = parseInput(SpecSchema, specification, { code: 'INVALID_SPEC', what: 'SubAgent specification', root: 'spec' });
    if (parsed.tag === 'failure') return parsed;
    const spec = effectiveSpecification(parsed.value, context);
    const plugin = this.resolver(spec);
    if (plugin.tag === 'failure') return plugin;
    const { parentAgentId: _parent, configurationOverrides: _overrides, ...profile } = spec;
    return success({ spec, plugin: plugin.value, profileKey: JSON.stringify({ profile, plugin: plugin.value.path }) });
  }

  /** startEntry, refused while the coordinator is short of file descriptors, and never throwing. */
  private async startGuarded(prepared: Prepared): Promise<Result<PoolEntry, QiError>> {
    if (this.runtime.tag === 'failure') return this.runtime;
    const room = this.fds.check(`${this.o.parentAgentId}.sa${this.counter + 1}`, this.starting);
    if (room.tag === 'failure') return room;
    this.starting++;
    try {
      return await this.startEntry(prepared);
    } catch (e) {
      return failure(spawnThrew(e));
    } finally {
      this.starting--;
    }
  }

  private async startEntry(prepared: Prepared): Promise<Result<PoolEntry, QiError>> {
    const { spec, plugin } = prepared;
    const { sandbox } = this.o.config;
    const agentId = agentIdFor(this.o.parentAgentId, ++this.counter);
    const host = await detectHost(sandbox.nodePath);
    const runAs = spec.isolationLevel === 'monitored' ? null : agentIdentity(host.isRoot, { uid: sandbox.agentUid, gid: sandbox.agentGid });
    let workspace: string;
    try {
      workspace = createWorkspace(sandbox.workspaceRoot, agentId, runAs);
    } catch (e) {
      return failure(
        qiError('SANDBOX_UNAVAILABLE', `cannot create the workspace of agent ${agentId} under ${sandbox.workspaceRoot}: ${e instanceof Error ? e.message : String(e)}`, {
          agentId,
          workspaceRoot: sandbox.workspaceRoot,
        }),
      );
    }
    const reachable = this.checkReachable(runAs, plugin, workspace);
    const cgroup = this.createCgroup(spec, agentId);
    const release = (): void => {
      removeWorkspace(workspace);
      void cgroup?.remove();
    };
    const planned = planLaunch({
      spec,
      host,
      nodePath: sandbox.nodePath,
      bootstrapPath: RUNTIME.bootstrap,
      runtimeReadPaths: RUNTIME.readPaths,
      pluginReadPaths: plugin.readPaths,
      workspace,
      extraReadPaths: sandbox.readPaths,
      extraWritePaths: sandbox.writePaths,
      env: buildAgentEnv(sandbox.passEnv, sandbox.env),
      networkIsolation: sandbox.networkIsolation,
      onUnavailable: sandbox.onUnavailable,
      runAs,
      maskedDirs: reachable.tag === 'success' ? reachable.value : [],
      cgroup: cgroup === null ? null : { procsFiles: cgroup.procsFiles, cpu: spec.resourceLimits.maxCpuPercent !== undefined },
    });
    if (planned.tag === 'failure') {
      release();
      return planned;
    }
    const plan = planned.value;
    if (plan.isolationLevel !== 'monitored' && spec.securityConstraints.fileSystemAccess !== 'full') {
      const grants = [...plugin.readPaths, ...sandbox.readPaths, ...RUNTIME.readPaths, workspace];
      const escaping = findEscapingLinks([workspace, ...sandbox.readPaths, plugin.readPaths[0]!], grants);
      if (escaping.length > 0) {
        release();
        const first = escaping[0]!;
        return failure(
          qiError('FS_DENIED', `granted path ${first.link} is a symlink to ${first.target}, outside the agent's grants; remove it or grant its target`, {
            agentId,
            links: escaping.slice(0, 10),
          }),
        );
      }
    }
    if (reachable.tag === 'failure' && plan.runAs !== null) {
      release();
      return reachable;
    }
    // A downgrade below `sandbox` runs without the cgroup.
    const agentCgroup = plan.isolationLevel === 'sandbox' ? cgroup : null;
    if (agentCgroup === null) void cgroup?.remove();
    const logger = agentLogger(this.o.logger, agentId, spec.agentType);
    const started = await startProcess({
      agentId,
      plan,
      init: { agentId, pluginPath: plugin.path, workspace, grants: this.grantsFor(spec, workspace), netGuard: { mode: plan.netGuard.mode, hosts: [...plan.netGuard.hosts] }, logLevel: this.o.config.logging.level },
      limits: { maxMessageBytes: sandbox.maxMessageBytes, maxMessagesPerSecond: sandbox.maxMessagesPerSecond },
      maxOutputBytes: sandbox.maxOutputBytes,
      logger,
      timeoutMs: this.o.startTimeoutMs ?? 15_000,
      killGraceMs: sandbox.killGraceMs,
    });
    if (started.tag === 'failure') {
      removeWorkspace(workspace);
      await agentCgroup?.remove();
      return started;
    }
    const proc = started.value.process;
    return success({
      agentId,
      workspace,
      plan,
      started: started.value,
      cgroup: agentCgroup,
      alive: () => proc.alive,
      discard: async () => {
        await proc.stop('pool closed', sandbox.killGraceMs);
        await agentCgroup?.remove();
        if (!sandbox.keepWorkspace) removeWorkspace(workspace);
      },
    });
  }

  /**
   * When agents run as another user (a root coordinator), everything they must read has to be
   * readable by that user; the folders on the way that are not are masked by the sandbox (the
   * list returned). A grant that is itself unreadable fails with the path and the fix.
   */
  private checkReachable(runAs: ReturnType<typeof agentIdentity>, plugin: PluginSource, workspace: string): Result<string[], QiError> {
    if (runAs === null) return success([]);
    const { sandbox } = this.o.config;
    const needed = [RUNTIME.bootstrap, ...RUNTIME.readPaths, ...plugin.readPaths, plugin.path, ...sandbox.readPaths, ...sandbox.writePaths, sandbox.nodePath];
    const unreadable = unreadablePath(needed, runAs);
    if (unreadable !== undefined) {
      return failure(
        qiError(
          'SANDBOX_UNAVAILABLE',
          `agents run as uid ${runAs.uid} because the coordinator is root, and that user cannot read ${unreadable}. Fix: make it readable by others (chmod o+rX), set sandbox.agentUid/agentGid to a user that can read it, or run the coordinator as an unprivileged user`,
          { path: unreadable, uid: runAs.uid },
        ),
      );
    }
    return success(untraversableAncestors([...needed, workspace], runAs));
  }

  /** What an agent may read and write, as its plugin sees it (ctx.grants). */
  private grantsFor(spec: SubAgentSpecification, workspace: string): { read: string[]; write: string[] } {
    const { sandbox } = this.o.config;
    const fs = spec.securityConstraints.fileSystemAccess;
    return { read: [workspace, ...sandbox.readPaths], write: fs === 'read-only' ? [] : [workspace, ...sandbox.writePaths] };
  }

  private toolPolicy(spec: SubAgentSpecification, entry: PoolEntry): ToolPolicy {
    const { sandbox } = this.o.config;
    const fs = spec.securityConstraints.fileSystemAccess;
    const prefix = entry.plan.wrapperArgs;
    return {
      agentId: entry.agentId,
      allowedTools: spec.securityConstraints.allowedTools,
      prohibitedOperations: spec.securityConstraints.prohibitedOperations,
      fileSystemAccess: fs,
      workspace: entry.workspace,
      readRoots: [entry.workspace, ...sandbox.readPaths],
      writeRoots: fs === 'read-only' ? [] : [entry.workspace, ...sandbox.writePaths],
      network: { level: spec.securityConstraints.networkAccessLevel, allowedHosts: spec.resourceLimits.allowedNetworkHosts },
      maxToolCalls: spec.resourceLimits.maxToolCalls,
      maxFileOperations: spec.resourceLimits.maxFileOperations,
      maxConcurrentOperations: spec.resourceLimits.maxConcurrentOperations,
      execute: {
        wrap: (command, args) => (prefix.length === 0 ? { command, args: [...args] } : { command: prefix[0]!, args: [...prefix.slice(1), command, ...args] }),
        seccompFilter: entry.plan.seccompFilter,
        env: entry.plan.env,
        defaultTimeoutMs: spec.resourceLimits.maxExecutionTimeMs,
      },
    };
  }

  private adopt(entry: PoolEntry, spec: SubAgentSpecification, context: AgentContext, services: CoordinationServices = {}, warm = false): SubAgent {
    const logger = agentLogger(this.o.logger, entry.agentId, spec.agentType);
    const broker = new ToolBroker(this.toolPolicy(spec, entry), this.tools, logger);
    const now = new Date();
    const instance: SubAgentInstance = {
      id: entry.agentId,
      specification: spec,
      status: 'ready',
      createdAt: now,
      lastActivity: now,
      assignedTasks: [],
      resourceUsage: { ...emptyUsage(), memoryMB: entry.started.baselineMB },
      performanceMetrics: { tasksCompleted: 0, successRate: 0, averageExecutionTime: 0, errorCount: 0 },
      pid: entry.started.nodePid,
      plugin: entry.started.plugin,
      workspace: entry.workspace,
      warm,
      layers: entry.plan.layers,
      isolationLevel: entry.plan.isolationLevel,
      ...(entry.plan.downgradedFrom === undefined ? {} : { downgradedFrom: entry.plan.downgradedFrom }),
      configuration: deriveConfiguration(entry.agentId, spec, context),
    };
    const agent = new SubAgent({
      instance,
      started: entry.started,
      monitor: this.monitor,
      logger,
      killGraceMs: this.o.config.sandbox.killGraceMs,
      services: {
        tool: (_agent, _subtaskId, name, args, signal) => broker.call(name, args, signal),
        toolUsage: () => broker.usage(),
        ...services,
      },
      onEvent: (event) => this.o.onEvent?.(event),
      ...(entry.cgroup === null ? {} : { oomKilled: () => entry.cgroup?.oomKilled() ?? false }),
      onExit: async (gone) => {
        this.agents.delete(gone.id);
        await entry.cgroup?.remove();
        if (!this.o.config.sandbox.keepWorkspace) removeWorkspace(entry.workspace);
      },
    });
    this.agents.set(agent.id, agent);
    return agent;
  }
}
