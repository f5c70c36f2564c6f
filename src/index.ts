/**
 * `qicoord`: what a host program needs to coordinate agents — create a coordinator (or the
 * spec's `MultiAgentCoordinator`), load config and task files, and the result, event and error
 * types with the error catalogue. Engines, the SubAgent factory, registries and schemas are
 * internals; plugin authors import `qicoord/plugin`, tests `qicoord/testing`.
 */

// The coordinator.
export { MultiAgentCoordinator, createCoordinator, type CoordinatorOptions } from './coordinator/coordinator.js';
export type { IMultiAgentCoordinator, CoordinationSummary } from './coordinator/interface.js';
export type { AgentContext } from './context.js';
export { PluginProbeCache } from './plugins/probe-cache.js';
export type { PluginRegistry, AgentPluginEntry, StrategyPluginEntry, PluginProblem } from './plugins/registry.js';
export type { AgentTransport } from './subagent/transport.js';
export type { ToolDefinition, ToolContext } from './tools/types.js';

// Configuration and task files.
export { loadConfig, resolveConfig, type LoadConfigOptions } from './config/load.js';
export type { Config, ConfigInput } from './config/schema.js';
export { loadTaskFile, parseTask, parseTaskText, type LoadedTaskFile, type ValidatedTask } from './tasks/load.js';

// The spec's data shapes (types only: validation happens inside every operation).
export type {
  AgentType,
  IsolationLevel,
  ResourceRequirement,
  ResourceConstraints,
  ResourceLimits,
  SecurityConstraints,
  ResourceUsage,
  SubAgentSpecification,
  SubAgentSpecificationInput,
  SynchronizationCondition,
  SynchronizationPoint,
  CoordinationStrategy,
  CoordinationStrategyInput,
  PartialCoordinationStrategy,
  TaskInput,
  TaskOutput,
  ExecutionConstraints,
  TaskSuccessCriterion,
  ResourceNeed,
  AgentRequirements,
  SubTask,
  SubTaskInput,
  TaskDependency,
  DistributedTask,
  DistributedTaskInput,
  TaskFile,
} from './schemas/index.js';

// Plans, results and events.
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
export type { CoordinationResult, AgentExecutionResult, CoordinationMetrics, ExecutionStatus, AggregatedResult, SubtaskReport } from './execution/types.js';
export type { CoordinatorEvent, SubtaskStatus } from './events/types.js';
export type { AgentEvent } from './subagent/agent.js';
export type { SubAgentInstance, SubAgentStatus, SubAgentMetrics, SubAgentConfiguration, PluginInfo } from './subagent/instance.js';

// Errors.
export { ERROR_CATALOGUE, qiError, hasCode, type ErrorCode, type CatalogueEntry } from './errors/catalogue.js';
