import { z } from 'zod';
import { Id, NonNegativeInt, PositiveInt } from './common.js';
import { ResourceRequirement } from './resources.js';
import { PartialCoordinationStrategy } from './strategy.js';

/**
 * An input of a subtask (spec: TaskInput). `value: null` (or absent) means "fed by the upstream
 * subtask whose expectedOutputs has this name"; with several producers the value is the array
 * of their outputs in declaration order.
 */
export const TaskInput = z.strictObject({
  name: z.string().min(1),
  type: z.string().min(1).default('any'),
  value: z.unknown().default(null),
  required: z.boolean().default(true),
});
export type TaskInput = z.output<typeof TaskInput>;

/** An output a subtask promises to return (spec: TaskOutput). */
export const TaskOutput = z.strictObject({
  name: z.string().min(1),
  type: z.string().min(1).default('any'),
  description: z.string().default(''),
});
export type TaskOutput = z.output<typeof TaskOutput>;

/**
 * Limits of the SubAgent that runs a subtask (spec: ExecutionConstraints). Every field is
 * optional here: what is left out comes from the config's `defaults`.
 */
export const ExecutionConstraints = z.strictObject({
  /** Deadline of the subtask, ms (TIME_LIMIT). */
  maxDuration: PositiveInt.optional(),
  /** Memory limit of its SubAgent, MB (MEMORY_LIMIT). */
  maxMemory: z.number().positive().optional(),
  allowedTools: z.array(z.string().min(1)).optional(),
  /** `false` → networkAccessLevel 'none'. */
  requiresNetwork: z.boolean().optional(),
});
export type ExecutionConstraints = z.output<typeof ExecutionConstraints>;

export const TaskSuccessCriterion = z.strictObject({
  criterion: z.string().min(1),
  threshold: z.number(),
  measurement: z.string().min(1),
});
export type TaskSuccessCriterion = z.output<typeof TaskSuccessCriterion>;

export const ResourceNeed = z.strictObject({
  resource: z.string().min(1),
  amount: z.number().nonnegative(),
  unit: z.string().min(1),
  shared: z.boolean().default(false),
});
export type ResourceNeed = z.output<typeof ResourceNeed>;

export const AgentRequirements = z.strictObject({
  capabilities: z.array(z.string().min(1)).default([]),
  minimumVersion: z.string().default('0.10.0'),
  resourceNeeds: z.array(ResourceNeed).default([]),
  securityLevel: z.enum(['low', 'medium', 'high']).default('medium'),
  concurrencySupport: z.boolean().default(true),
});
export type AgentRequirements = z.output<typeof AgentRequirements>;

/** One unit of work for one SubAgent (spec: SubTask, plus the optional `agent` plugin name). */
export const SubTask = z.strictObject({
  id: Id,
  /** Defaults to the enclosing task's id. */
  parentTaskId: z.string().min(1).optional(),
  description: z.string().default(''),
  /** Extension: the agent plugin to run on; else the plugin whose capabilities cover agentRequirements. */
  agent: z.string().min(1).optional(),
  agentRequirements: AgentRequirements.prefault({}),
  inputs: z.array(TaskInput).default([]),
  expectedOutputs: z.array(TaskOutput).default([]),
  executionConstraints: ExecutionConstraints.default({}),
  successCriteria: z.array(TaskSuccessCriterion).default([]),
  /** Expected run time, ms; drives the critical-path estimate. */
  estimatedDuration: NonNegativeInt.default(1000),
});
export type SubTask = z.output<typeof SubTask>;
export type SubTaskInput = z.input<typeof SubTask>;

/** An explicit edge (spec: TaskDependency). */
export const TaskDependency = z.strictObject({
  dependentTask: z.string().min(1),
  dependsOn: z.array(z.string().min(1)).min(1),
  type: z.enum(['sequential', 'data', 'resource']).default('sequential'),
});
export type TaskDependency = z.output<typeof TaskDependency>;

/** A task to distribute (spec: DistributedTask). */
export const DistributedTask = z.strictObject({
  id: Id,
  description: z.string().default(''),
  complexity: z.enum(['simple', 'moderate', 'complex']).default('moderate'),
  decomposable: z.boolean().default(true),
  parallelizable: z.boolean().default(true),
  subtasks: z.array(SubTask).optional(),
  dependencies: z.array(TaskDependency).default([]),
  resourceRequirements: z.array(ResourceRequirement).default([]),
  /** Whole-run deadline, ms. */
  timeLimit: PositiveInt.optional(),
  priority: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
  /** Extension: values every subtask sees in ctx.inputs unless it declares its own (e.g. a directory). */
  inputs: z.record(z.string(), z.unknown()).optional(),
  /** Extension: this task's delegation limits (ctx.delegate), over the config's `delegation`. */
  delegation: z.strictObject({ maxDepth: z.int().min(0).max(32).optional(), maxSubtasks: z.int().min(0).max(100_000).optional() }).optional(),
});
export type DistributedTask = z.output<typeof DistributedTask>;
export type DistributedTaskInput = z.input<typeof DistributedTask>;

/** A task file: `{ task, strategy? }`. */
export const TaskFile = z.strictObject({
  task: DistributedTask,
  strategy: PartialCoordinationStrategy.optional(),
});
export type TaskFile = z.output<typeof TaskFile>;
