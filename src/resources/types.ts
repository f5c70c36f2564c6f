/**
 * Public shapes of the resource manager (the spec's ResourceAllocation / AllocatedResource).
 * @module
 */
import type { ResourceConstraints } from '../schemas/resources.js';

export type { ResourceConstraints, ResourceRequirement } from '../schemas/resources.js';

/** The coordinator-wide budget (config `resources`). */
export interface ResourceBudget {
  /** MB of memory all live allocations may hold together. */
  readonly maxTotalMemory: number;
  /** How many allocations may be live at once. */
  readonly maxConcurrentAllocations: number;
  /** Whether preferred/optional requirements may be left out when they do not fit (see {@link ResourceManager.allocate}). */
  readonly allowSharedResources: boolean;
}

/** One granted resource (spec shape). `location` is always `'local'`: one host. */
export interface AllocatedResource {
  readonly type: string;
  readonly amount: number;
  readonly unit: string;
  readonly location: string;
}

/** A live grant (spec shape). `agentId` is the owner given to allocate/acquire. */
export interface ResourceAllocation {
  readonly allocationId: string;
  readonly agentId: string;
  readonly allocatedResources: readonly AllocatedResource[];
  readonly constraints: ResourceConstraints;
  readonly expiresAt: Date;
}

/** Options of {@link ResourceManager}. */
export interface ResourceManagerOptions {
  /** Clock for `expiresAt` (ms). Default `Date.now`. Expiry timers themselves run on real time. */
  readonly now?: () => number;
  /** Lifetime of an allocation when none is given. Default one hour. */
  readonly defaultTtlMs?: number;
}

/** What {@link ResourceManager.usage} reports. */
export interface ResourceUsageSummary {
  /** MB held by live allocations. */
  readonly memoryMB: number;
  /** Live allocations. */
  readonly allocations: number;
  /** acquire() calls waiting for room. */
  readonly waiting: number;
  readonly budget: ResourceBudget;
}

/** Options of `ResourceManager.acquire`. */
export interface AcquireOptions {
  /** Held until released, never expired by the default ttl (an agent's allocation). Default false. */
  readonly untilReleased?: boolean;
}
