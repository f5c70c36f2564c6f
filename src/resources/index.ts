/**
 * Resources: the coordinator's memory / allocation budget.
 * @module
 */
export { ResourceManager } from './manager.js';
export type {
  AllocatedResource,
  ResourceAllocation,
  ResourceBudget,
  ResourceConstraints,
  ResourceManagerOptions,
  ResourceRequirement,
  ResourceUsageSummary,
} from './types.js';
export { MEMORY_UNITS, toMegabytes } from './units.js';
