import type { AgentContext } from '../context.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SubAgentConfiguration } from './instance.js';

interface ParentPerformance {
  maxConcurrentOperations?: unknown;
  operationTimeoutMs?: unknown;
  memoryLimitMB?: unknown;
  maxRetryAttempts?: unknown;
}

/** A SubAgent never gets more retries than this (spec). */
const MAX_RETRY_ATTEMPTS = 2;

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : Infinity;
}

/** The specification with each limit narrowed to the parent's (`min()`), as the agent really runs. */
export function effectiveSpecification(spec: SubAgentSpecification, context: AgentContext): SubAgentSpecification {
  const parent = ((context.configuration ?? {})['performance'] ?? {}) as ParentPerformance;
  const limits = spec.resourceLimits;
  return {
    ...spec,
    resourceLimits: {
      ...limits,
      maxConcurrentOperations: Math.min(num(parent.maxConcurrentOperations), limits.maxConcurrentOperations),
      maxExecutionTimeMs: Math.min(num(parent.operationTimeoutMs), limits.maxExecutionTimeMs),
      maxMemoryMB: Math.min(num(parent.memoryLimitMB), limits.maxMemoryMB),
    },
  };
}

/**
 * The spec's createSubAgentConfiguration: capabilities from the type and capability list,
 * every limit the `min()` of the parent's (from `context.configuration.performance`, when the
 * host passes one) and the specification's, and no ability to spawn SubAgents.
 */
export function deriveConfiguration(agentId: string, spec: SubAgentSpecification, context: AgentContext): SubAgentConfiguration {
  const parent = ((context.configuration ?? {})['performance'] ?? {}) as ParentPerformance;
  const limits = spec.resourceLimits;
  return {
    agentId,
    parentAgentId: spec.parentAgentId,
    capabilities: {
      decisionMaking: spec.agentType === 'decision-capable',
      multiAgent: false,
      goalManagement: spec.capabilities.includes('goal-management'),
      learning: spec.capabilities.includes('learning'),
      advancedReasoning: spec.capabilities.includes('advanced-reasoning'),
    },
    performance: {
      maxConcurrentOperations: Math.min(num(parent.maxConcurrentOperations), limits.maxConcurrentOperations),
      operationTimeoutMs: Math.min(num(parent.operationTimeoutMs), limits.maxExecutionTimeMs),
      memoryLimitMB: Math.min(num(parent.memoryLimitMB), limits.maxMemoryMB),
      maxRetryAttempts: Math.min(num(parent.maxRetryAttempts), MAX_RETRY_ATTEMPTS),
    },
    security: {
      enableSandboxing: spec.securityConstraints.sandboxEnabled,
      allowedOperations: spec.securityConstraints.allowedTools,
      maxResourceUsage: { cpuPercent: limits.maxCpuPercent ?? null, memoryMB: limits.maxMemoryMB },
    },
    overrides: spec.configurationOverrides ?? {},
  };
}
