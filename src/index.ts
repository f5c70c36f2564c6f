export * from './schemas/index.js';
export { ERROR_CATALOGUE, qiError, hasCode, type ErrorCode, type CatalogueEntry } from './errors/catalogue.js';
export { loadConfig, resolveConfig, defaultConfig, SEARCH_PLACES, type LoadConfigOptions } from './config/load.js';
export { ConfigSchema, type Config, type ConfigInput } from './config/schema.js';
export { DEFAULT_CONFIG } from '../config/defaults.js';
export {
  createRootLogger,
  componentLogger,
  agentLogger,
  subtaskLogger,
  logPerformance,
  redactSecrets,
  type Logger,
  type LoggerOptions,
} from './logging/logger.js';
export { buildTaskGraph, criticalPath, type TaskGraph, type InputSource } from './dag/graph.js';
export { loadTaskFile, parseTask, parseTaskText, type LoadedTaskFile, type ValidatedTask } from './tasks/load.js';
export type { AgentContext } from './context.js';
export { SubAgentFactory, type FactoryOptions, type SpawnRequest, type CoordinationServices } from './subagent/factory.js';
export { SubAgent, type AgentEvent, type SubtaskOutcome } from './subagent/agent.js';
export type { SubAgentInstance, SubAgentStatus, SubAgentMetrics, SubAgentConfiguration, PluginInfo } from './subagent/instance.js';
export { detectHost } from './subagent/host.js';
export { planLaunch } from './subagent/launch.js';
export type { HostCapabilities, LaunchPlan, LaunchInput, NetGuardPolicy } from './subagent/types.js';
export { MultiAgentCoordinator, createCoordinator, type CoordinatorOptions } from './coordinator/coordinator.js';
export type { IMultiAgentCoordinator, CoordinationSummary } from './coordinator/interface.js';
export { TaskDistributionEngine } from './distribution/engine.js';
export type {
  TaskDistribution,
  AgentAllocation,
  CommunicationChannel,
  SynchronizationPlan,
  FallbackPlan,
  FallbackAction,
  DistributionAnalysis,
  ResourceAllocation,
} from './distribution/types.js';
export { CoordinationExecutionEngine } from './execution/engine.js';
export type { CoordinationResult, AgentExecutionResult, CoordinationMetrics, ExecutionStatus, AggregatedResult, SubtaskReport } from './execution/types.js';
export type { CoordinatorEvent, SubtaskStatus } from './events/types.js';
export { PluginRegistry, type AgentPluginEntry, type StrategyPluginEntry, type PluginProblem } from './plugins/registry.js';
export { loadPlugins } from './plugins/load.js';
export { PluginProbeCache } from './plugins/probe-cache.js';
export { ResourceManager } from './resources/index.js';
export { ChannelRouter } from './channels/index.js';
export { SyncHub } from './sync/index.js';
