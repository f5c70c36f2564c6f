import type { ResourceUsage } from '../schemas/resources.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SubTask } from '../schemas/task.js';

/** Lifecycle of a SubAgent (spec): initializing → ready → executing → completed | failed | terminated. */
export type SubAgentStatus = 'initializing' | 'ready' | 'executing' | 'completed' | 'failed' | 'terminated';

/** Per-agent metrics (spec: SubAgentMetrics). */
export interface SubAgentMetrics {
  tasksCompleted: number;
  successRate: number;
  averageExecutionTime: number;
  errorCount: number;
}

/** What the plugin said about itself at start-up. */
export interface PluginInfo {
  readonly name: string;
  readonly type: 'basic' | 'decision-capable' | 'specialized';
  readonly capabilities: readonly string[];
  readonly description?: string | undefined;
  /** Subtasks one agent runs at once, when more than 1 (a reentrant plugin; see AgentPlugin.concurrency). */
  readonly concurrency?: number | undefined;
}

/** How many of its latest subtasks an agent's `assignedTasks` keeps. */
export const MAX_ASSIGNED_TASKS = 64;

/** Adds a subtask to `assignedTasks`, dropping the oldest past {@link MAX_ASSIGNED_TASKS}. */
export function assign(instance: Pick<SubAgentInstance, 'assignedTasks'>, subtask: SubTask): void {
  const tasks = instance.assignedTasks;
  tasks.push(subtask);
  if (tasks.length > MAX_ASSIGNED_TASKS) tasks.splice(0, tasks.length - MAX_ASSIGNED_TASKS);
}

/** The spec's SubAgentInstance, plus what qicoord knows of the real process. Plain data. */
export interface SubAgentInstance {
  readonly id: string;
  readonly specification: SubAgentSpecification;
  status: SubAgentStatus;
  readonly createdAt: Date;
  lastActivity: Date;
  /** The subtasks it was given, the latest {@link MAX_ASSIGNED_TASKS} (an agent may run a whole run's subtasks: all of them would be held for its life). */
  assignedTasks: SubTask[];
  resourceUsage: ResourceUsage;
  performanceMetrics: SubAgentMetrics;
  /** The OS pid of the agent's Node process. */
  readonly pid: number;
  readonly plugin: PluginInfo;
  readonly workspace: string;
  /** True when it came ready from the warm pool (no cold start). */
  readonly warm: boolean;
  /** Enforcement layers in force (see the README's security model). */
  readonly layers: readonly string[];
  /** The isolation level really applied, and the requested one when a downgrade happened. */
  readonly isolationLevel: SubAgentSpecification['isolationLevel'];
  readonly downgradedFrom?: SubAgentSpecification['isolationLevel'];
  /** The configuration derived for it from its specification and the parent's (spec: createSubAgentConfiguration). */
  readonly configuration: SubAgentConfiguration;
  /** Why the agent ended; the first reason recorded wins. */
  endReason?: string;
}

/** The spec's derived SubAgent configuration: capabilities, and limits no looser than the parent's. */
export interface SubAgentConfiguration {
  readonly agentId: string;
  readonly parentAgentId: string;
  readonly capabilities: {
    readonly decisionMaking: boolean;
    /** Always false: SubAgents cannot spawn SubAgents (they have no handle on the coordinator). */
    readonly multiAgent: false;
    readonly goalManagement: boolean;
  };
  readonly performance: {
    readonly maxConcurrentOperations: number;
    readonly operationTimeoutMs: number;
    readonly memoryLimitMB: number;
  };
  readonly security: {
    readonly enableSandboxing: boolean;
    readonly allowedOperations: readonly string[];
    readonly maxResourceUsage: { readonly cpuPercent: number | null; readonly memoryMB: number };
  };
  readonly overrides: Readonly<Record<string, unknown>>;
}

export function emptyUsage(): ResourceUsage {
  return { memoryMB: 0, executionTimeMs: 0, toolCalls: 0, networkRequests: 0, fileOperations: 0 };
}
