import type { ResourceConstraints, ResourceRequirement } from '../schemas/resources.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { CoordinationStrategy, SynchronizationPoint } from '../schemas/strategy.js';
import type { DistributedTask, SubTask } from '../schemas/task.js';

/** A resource grant (spec: ResourceAllocation); at plan time it is what an allocation will ask for. */
export interface ResourceAllocation {
  readonly allocationId: string;
  readonly agentId: string;
  readonly allocatedResources: readonly { readonly type: string; readonly amount: number; readonly unit: string; readonly location: string }[];
  readonly constraints: ResourceConstraints;
  readonly expiresAt: Date;
}

/** One agent slot of the plan (spec: AgentAllocation), with the specification its agent gets. */
export interface AgentAllocation {
  /** The lane's label in the plan; the agents really started get their own ids. */
  readonly agentId: string;
  readonly assignedSubTasks: readonly SubTask[];
  readonly resourceAllocation: ResourceAllocation;
  /** 1 = most urgent (lanes on the critical path first). */
  readonly priority: number;
  /** Lanes whose subtasks this lane's subtasks wait for. */
  readonly dependencies: readonly string[];
  /** Extension: the agent plugin and the SubAgent specification of this lane. */
  readonly plugin: string;
  readonly specification: SubAgentSpecification;
}

/** spec: CommunicationChannel. */
export interface CommunicationChannel {
  readonly id: string;
  readonly type: 'direct' | 'queue' | 'broadcast';
  readonly participants: readonly string[];
  readonly protocol: string;
}

/**
 * spec: SynchronizationPlan, as the run reads it: the points. (The spec's `strategy` and
 * `fallbackBehavior` only restated `strategy.failureHandling`, which is what the sync points
 * obey; they are not in the plan.)
 */
export interface SynchronizationPlan {
  readonly points: readonly SynchronizationPoint[];
}

/** spec: FallbackAction / FallbackPlan. */
export interface FallbackAction {
  readonly condition: string;
  readonly action: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}
export interface FallbackPlan {
  readonly triggers: readonly string[];
  readonly actions: readonly FallbackAction[];
  readonly recoveryStrategy: string;
}

/** spec: DistributionAnalysis, with the figures it came from. */
export interface DistributionAnalysis {
  readonly suitable: boolean;
  readonly reason: string;
  readonly recommendedAgents: number;
  readonly parallelizationOpportunities: readonly string[];
  readonly resourceRequirements: readonly ResourceRequirement[];
  readonly estimatedBenefit: number;
  /** Sum of estimated durations, ms: the work of one agent doing everything. */
  readonly totalWorkMs: number;
  /** Longest chain of estimated durations, ms. */
  readonly criticalPathMs: number;
  readonly criticalPath: readonly string[];
  /** Estimated cost of coordinating: agent starts and dispatches, ms. */
  readonly overheadMs: number;
}

/** The plan of a distributed run (spec: TaskDistribution). Plain, serializable data. */
export interface TaskDistribution {
  readonly distributionId: string;
  readonly originalTask: DistributedTask;
  readonly strategy: CoordinationStrategy;
  readonly agentAllocations: readonly AgentAllocation[];
  readonly communicationChannels: readonly CommunicationChannel[];
  readonly synchronizationPlan: SynchronizationPlan;
  readonly fallbackPlan: FallbackPlan;
  /** Extension: the subtasks in declaration order (decomposed when the task gave none) and the analysis. */
  readonly subtasks: readonly SubTask[];
  readonly analysis: DistributionAnalysis;
  /** Extension: the specification each subtask's agent gets, by subtask id. */
  readonly specifications: Readonly<Record<string, SubAgentSpecification>>;
}
