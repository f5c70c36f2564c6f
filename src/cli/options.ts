import type { Config } from '../config/schema.js';
import type { CoordinationStrategyInput, PartialCoordinationStrategy } from '../schemas/strategy.js';

/** CLI overrides of the strategy. */
export interface StrategyFlags {
  readonly strategy?: string | undefined;
  readonly maxAgents?: string | undefined;
  readonly failure?: string | undefined;
}

/**
 * The strategy of a run: config `defaults.strategy`, then the task file's `strategy`, then the
 * command-line flags (validation happens when the task is distributed, naming the bad field).
 */
export function mergeStrategy(config: Config, fromFile: PartialCoordinationStrategy | undefined, flags: StrategyFlags): CoordinationStrategyInput {
  const d = config.defaults.strategy;
  const merged: Record<string, unknown> = {
    type: d.type,
    maxConcurrentAgents: d.maxConcurrentAgents,
    failureHandling: d.failureHandling,
    communicationProtocol: d.communicationProtocol,
    synchronizationPoints: [],
    ...fromFile,
  };
  if (flags.strategy !== undefined) merged['type'] = flags.strategy;
  if (flags.maxAgents !== undefined) merged['maxConcurrentAgents'] = /^\d+$/.test(flags.maxAgents) ? Number(flags.maxAgents) : flags.maxAgents;
  if (flags.failure !== undefined) merged['failureHandling'] = flags.failure;
  return merged as CoordinationStrategyInput;
}
