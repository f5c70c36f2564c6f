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
import { emptyUsage, type PluginInfo, type SubAgentInstance } from './instance.js';
import { localTransport } from './local-transport.js';
import { ResourceMonitor } from './monitor.js';
import type { PluginResolver, PluginSource } from './plugin-source.js';
import { defaultPluginResolver, pluginFromFile } from './plugin-source.js';
import { WarmPool, type PooledAgent } from './pool.js';
import type { AgentConnection, AgentTransport } from './transport.js';

/** Coordination services the execution engine lends an agent (sync points, channels). */
export type CoordinationServices = Pick<AgentServices, 'sync' | 'channel' | 'delegate'>;

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
  /** What carries the agents (default: {@link localTransport}, sandboxed child processes). */
  readonly transport?: AgentTransport;
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
  readonly connection: AgentConnection;
}

function agentIdFor(parent: string, n: number): string {
  return `${parent.replace(/[^A-Za-z0-9._:-]/g, '_')}.sa${n}-${randomUUID().slice(0, 8)}`;
}

/** What an agent's tool broker allows, from its specification and boundary (shared with remote workers, whose broker runs on their host). */
export function toolPolicyFor(spec: SubAgentSpecification, agentId: string, boundary: AgentConnection['boundary'], sandbox: Config['sandbox']): ToolPolicy {
  const fs = spec.securityConstraints.fileSystemAccess;
  const { workspace } = boundary;
  return {
    agentId,
    allowedTools: spec.securityConstraints.allowedTools,
    prohibitedOperations: spec.securityConstraints.prohibitedOperations,
    fileSystemAccess: fs,
    workspace,
    readRoots: [workspace, ...sandbox.readPaths],
    writeRoots: fs === 'read-only' ? [] : [workspace, ...sandbox.writePaths],
    network: { level: spec.securityConstraints.networkAccessLevel, allowedHosts: spec.resourceLimits.allowedNetworkHosts },
    maxToolCalls: spec.resourceLimits.maxToolCalls,
    maxFileOperations: spec.resourceLimits.maxFileOperations,
    maxConcurrentOperations: spec.resourceLimits.maxConcurrentOperations,
    execute: { ...boundary.execute, defaultTimeoutMs: spec.resourceLimits.maxExecutionTimeMs },
  };
}

/**
 * The spec's SubAgentFactory, made real: validates a specification, checks the memory budget,
 * derives the agent's configuration, and starts the agent through its transport — by default a
 * sandboxed Node child process whose flags, environment and limits come from the specification
 * (see local-transport.ts) — or hands out a pre-started one of the same security profile from
 * the warm pool; it gives the agent its tool broker and wraps it in a {@link SubAgent}. It owns
 * every agent it started: `close()` stops them all, and a process-exit hook SIGKILLs any that
 * remain.
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
  private readonly transport: AgentTransport;

  constructor(private readonly o: FactoryOptions) {
    this.log = componentLogger(o.logger, 'SubAgentFactory');
    this.monitor = new ResourceMonitor(o.config.monitor.pollIntervalMs, o.config.monitor.cpuWindowMs, this.log, o.config.sandbox.maxWorkspaceEntries);
    this.pool = new WarmPool(o.config.pool.enabled ? o.config.pool.size : 0, o.config.pool.maxTotal);
    this.tools = new Map([...builtinTools(), ...(o.tools ?? new Map())]);
    this.resolver = o.pluginResolver ?? defaultPluginResolver;
    this.transport = o.transport ?? localTransport();
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
    const entry = fromPool === undefined ? await this.startEntry(prepared.value) : success(fromPool);
    if (pooled && request.refill !== false) this.pool.refill(prepared.value.profileKey, () => this.startEntry(prepared.value));
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
    const entry = await this.startEntry({ spec, plugin: plugin.value, profileKey: '' });
    if (entry.tag === 'failure') return entry;
    await entry.value.discard();
    return success(entry.value.connection.plugin);
  }

  /** Resolves plugins through the registry from now on (after the registry has been loaded). */
  usePluginResolver(resolver: PluginResolver): void {
    this.resolver = resolver;
  }

  /** Tops up the warm pool of a specification's profile in the background (a host expecting more agents of it; runs never do). */
  refillPool(specification: unknown, context: AgentContext = {}): void {
    if (!this.o.config.pool.enabled || this.closed) return;
    const prepared = this.prepare(specification, context);
    if (prepared.tag === 'success') this.pool.refill(prepared.value.profileKey, () => this.startEntry(prepared.value));
  }

  /** Pre-starts `count` agents of a specification's profile (warm pool). */
  async prewarm(specification: unknown, count: number): Promise<Result<number, QiError>> {
    const prepared = this.prepare(specification);
    if (prepared.tag === 'failure') return prepared;
    const entries = await Promise.all(Array.from({ length: count }, () => this.startEntry(prepared.value)));
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
    await this.transport.close();
    process.removeListener('exit', this.exitHook);
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

  /** Starts one agent through the transport, as a pool entry (a failure leaves nothing behind). */
  private async startEntry(prepared: Prepared): Promise<Result<PoolEntry, QiError>> {
    const { spec, plugin } = prepared;
    const agentId = agentIdFor(this.o.parentAgentId, ++this.counter);
    const started = await this.transport.start({
      agentId,
      spec,
      plugin,
      sandbox: this.o.config.sandbox,
      logLevel: this.o.config.logging.level,
      logger: agentLogger(this.o.logger, agentId, spec.agentType),
      timeoutMs: this.o.startTimeoutMs ?? 15_000,
    });
    if (started.tag === 'failure') return started;
    const connection = started.value;
    return success({
      agentId,
      workspace: connection.boundary.workspace,
      connection,
      alive: () => connection.alive,
      discard: async () => {
        await connection.stop('pool closed', this.o.config.sandbox.killGraceMs);
      },
    });
  }

  private adopt(entry: PoolEntry, spec: SubAgentSpecification, context: AgentContext, services: CoordinationServices = {}, warm = false): SubAgent {
    const logger = agentLogger(this.o.logger, entry.agentId, spec.agentType);
    const broker = new ToolBroker(toolPolicyFor(spec, entry.agentId, entry.connection.boundary, this.o.config.sandbox), this.tools, logger);
    const now = new Date();
    const { connection } = entry;
    const { boundary } = connection;
    const instance: SubAgentInstance = {
      id: entry.agentId,
      specification: spec,
      status: 'ready',
      createdAt: now,
      lastActivity: now,
      assignedTasks: [],
      resourceUsage: { ...emptyUsage(), memoryMB: connection.baselineMB },
      performanceMetrics: { tasksCompleted: 0, successRate: 0, averageExecutionTime: 0, errorCount: 0 },
      pid: connection.pid ?? 0,
      plugin: withinCap(connection.plugin, this.o.config.sandbox.maxSubtasksPerAgent),
      workspace: boundary.workspace,
      warm,
      layers: boundary.layers,
      isolationLevel: boundary.isolationLevel,
      ...(boundary.downgradedFrom === undefined ? {} : { downgradedFrom: boundary.downgradedFrom }),
      configuration: deriveConfiguration(entry.agentId, spec, context),
    };
    const agent = new SubAgent({
      instance,
      connection,
      monitor: this.monitor,
      logger,
      killGraceMs: this.o.config.sandbox.killGraceMs,
      services: {
        tool: (_agent, _subtaskId, name, args, signal) => broker.call(name, args, signal),
        toolUsage: () => broker.usage(),
        ...services,
      },
      onEvent: (event) => this.o.onEvent?.(event),
      onExit: async (gone) => {
        this.agents.delete(gone.id);
      },
    });
    this.agents.set(agent.id, agent);
    return agent;
  }
}

/**
 * What the agent said of its plugin, its concurrency held to sandbox.maxSubtasksPerAgent here
 * too: the agent's runtime applies the cap, but a plugin's top-level code could forge the
 * runtime's `ready` before it, and the run leases subtasks to an agent by this figure.
 */
function withinCap(plugin: PluginInfo, cap: number): PluginInfo {
  const concurrency = Math.min(plugin.concurrency ?? 1, cap);
  const { concurrency: _claimed, ...rest } = plugin;
  return concurrency > 1 ? { ...rest, concurrency } : rest;
}
