import { z } from 'zod';
import { NonNegativeInt, PositiveInt } from './common.js';

/** A task's need for a kind of resource (spec: ResourceRequirement). */
export const ResourceRequirement = z.strictObject({
  type: z.enum(['memory', 'cpu', 'network', 'storage']),
  amount: z.number().nonnegative(),
  unit: z.string().min(1),
  priority: z.enum(['required', 'preferred', 'optional']).default('required'),
});
export type ResourceRequirement = z.output<typeof ResourceRequirement>;

/** The budget an allocation must fit in (spec: ResourceConstraints). */
export const ResourceConstraints = z.strictObject({
  /** MB of memory all live allocations may hold together. */
  maxTotalMemory: z.number().positive(),
  maxConcurrentAllocations: PositiveInt,
  allowSharedResources: z.boolean(),
});
export type ResourceConstraints = z.output<typeof ResourceConstraints>;

/** What a SubAgent may use (spec: ResourceLimits). */
export const ResourceLimits = z.strictObject({
  maxMemoryMB: z.number().positive(),
  maxExecutionTimeMs: PositiveInt,
  maxConcurrentOperations: PositiveInt,
  maxToolCalls: NonNegativeInt,
  allowedNetworkHosts: z.array(z.string().min(1)),
  maxFileOperations: NonNegativeInt,
  /** Extension: CPU cap in percent of one core, judged over monitor.cpuWindowMs. Absent = no cap. */
  maxCpuPercent: z.number().positive().max(100 * 64).optional(),
  /** Extension: bytes the agent may keep in its workspace (and its private /tmp), MB → DISK_LIMIT. Absent = 1024. */
  maxDiskMB: z.number().positive().optional(),
});
export type ResourceLimits = z.output<typeof ResourceLimits>;

/** What a SubAgent is allowed to do (spec: SecurityConstraints). */
export const SecurityConstraints = z.strictObject({
  sandboxEnabled: z.boolean(),
  allowedTools: z.array(z.string().min(1)),
  prohibitedOperations: z.array(z.string().min(1)),
  networkAccessLevel: z.enum(['none', 'restricted', 'full']),
  fileSystemAccess: z.enum(['read-only', 'restricted', 'full']),
  resourceMonitoring: z.boolean(),
});
export type SecurityConstraints = z.output<typeof SecurityConstraints>;

/** Live resource use of a SubAgent (spec: ResourceUsage). */
export const ResourceUsage = z.strictObject({
  memoryMB: z.number().nonnegative(),
  executionTimeMs: z.number().nonnegative(),
  toolCalls: NonNegativeInt,
  networkRequests: NonNegativeInt,
  fileOperations: NonNegativeInt,
  cpuPercent: z.number().nonnegative().optional(),
});
export type ResourceUsage = z.output<typeof ResourceUsage>;
