import { z } from 'zod';
import { Id, PositiveInt } from './common.js';

/** When a synchronization point is satisfied (spec: SynchronizationCondition). */
export const SynchronizationCondition = z.strictObject({
  type: z.enum(['all-complete', 'majority-complete', 'specific-agents', 'timeout']),
  /**
   * `agents` (specific-agents), `reducer` (aggregation: sum | concat | merge | plugin reducer),
   * `rule` (decision: majority | unanimous | first | plugin rule).
   */
  parameters: z.record(z.string(), z.unknown()).default({}),
});
export type SynchronizationCondition = z.output<typeof SynchronizationCondition>;

/** A point where agents wait for each other (spec: SynchronizationPoint). */
export const SynchronizationPoint = z.strictObject({
  id: Id,
  type: z.enum(['barrier', 'checkpoint', 'decision', 'aggregation']),
  description: z.string().default(''),
  /** Agent ids, subtask ids, or '*' for every subtask of the run. */
  participatingAgents: z.array(z.string().min(1)).min(1).default(['*']),
  condition: SynchronizationCondition.prefault({ type: 'all-complete' }),
  timeoutMs: PositiveInt.optional(),
  onTimeout: z.enum(['wait', 'proceed', 'fail']).default('fail'),
});
export type SynchronizationPoint = z.output<typeof SynchronizationPoint>;

/** The built-in strategies; `type` may also name a strategy plugin registered from the config. */
export const BUILTIN_STRATEGIES = ['sequential', 'parallel', 'hybrid', 'adaptive'] as const;
/** A strategy name: a built-in one or a registered strategy plugin (checked when the task is distributed). */
export const StrategyType = z.string().min(1).max(200);
export const FailureHandling = z.enum(['fail-fast', 'graceful-degradation', 'retry-cascade']);
export const CommunicationProtocol = z.enum(['direct', 'message-queue', 'event-driven']);

/** How a distributed task runs (spec: CoordinationStrategy). */
export const CoordinationStrategy = z.strictObject({
  type: StrategyType,
  maxConcurrentAgents: PositiveInt,
  failureHandling: FailureHandling,
  synchronizationPoints: z.array(SynchronizationPoint).default([]),
  communicationProtocol: CommunicationProtocol.default('direct'),
});
export type CoordinationStrategy = z.output<typeof CoordinationStrategy>;
export type CoordinationStrategyInput = z.input<typeof CoordinationStrategy>;

/** A strategy as written in a task file: every field optional, the rest comes from config `defaults.strategy`. */
export const PartialCoordinationStrategy = z.strictObject({
  type: StrategyType.optional(),
  maxConcurrentAgents: PositiveInt.optional(),
  failureHandling: FailureHandling.optional(),
  synchronizationPoints: z.array(SynchronizationPoint).optional(),
  communicationProtocol: CommunicationProtocol.optional(),
});
export type PartialCoordinationStrategy = z.output<typeof PartialCoordinationStrategy>;
