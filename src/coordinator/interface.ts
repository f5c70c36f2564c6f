import type { QiError, Result } from '@qi/base';
import type { AgentContext } from '../context.js';
import type { ResourceAllocation, TaskDistribution } from '../distribution/types.js';
import type { CoordinationResult, ExecutionStatus } from '../execution/types.js';
import type { SubAgentInstance } from '../subagent/instance.js';
import type { SynchronizationPoint } from '../schemas/strategy.js';

/** spec: CoordinationSummary — what really happened at the synchronization points. */
export interface CoordinationSummary {
  readonly coordinationId: string;
  readonly participatingAgents: number;
  readonly synchronizationPointsReached: number;
  readonly communicationEvents: number;
  readonly overallSuccess: boolean;
}

/**
 * The spec's IMultiAgentCoordinator. Inputs are `unknown` where they cross a boundary: each
 * operation validates what it is given and answers a bad input with a Result failure.
 */
export interface IMultiAgentCoordinator {
  distributeTask(task: unknown, strategy: unknown, context: AgentContext): Promise<Result<TaskDistribution, QiError>>;
  spawnSubAgent(specification: unknown, context: AgentContext): Promise<Result<SubAgentInstance, QiError>>;
  terminateSubAgent(agentId: string, reason: string): Promise<Result<void, QiError>>;
  executeDistributedTask(distribution: TaskDistribution, context: AgentContext): Promise<Result<CoordinationResult, QiError>>;
  coordinateAgents(agents: readonly SubAgentInstance[], synchronizationPoints: readonly SynchronizationPoint[]): Promise<Result<CoordinationSummary, QiError>>;
  monitorExecution(coordinationId: string): Promise<Result<ExecutionStatus, QiError>>;
  getActiveAgents(): Promise<Result<SubAgentInstance[], QiError>>;
  allocateResources(requirements: unknown, constraints: unknown): Promise<Result<ResourceAllocation, QiError>>;
  releaseResources(allocation: ResourceAllocation): Promise<Result<void, QiError>>;
}
