import type { AgentContext } from '../context.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SubAgentConfiguration } from './instance.js';

interface ParentPerformance {
  maxConcurrentOperations?: unknown;
  operationTimeoutMs?: unknown;
  memoryLimitMB?: unknown;
}

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
 * host passes one) and the specification's, and no ability to spawn SubAgents. The spec's
 * `learning` / `advancedReasoning` flags and `maxRetryAttempts` are not derived: nothing in an
 * agent acts on the first two, and retries belong to the run — its plan's `retry-on-fresh-agent`
 * action is their one source (execution/failure-policy.ts).
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
    },
    performance: {
      maxConcurrentOperations: Math.min(num(parent.maxConcurrentOperations), limits.maxConcurrentOperations),
      operationTimeoutMs: Math.min(num(parent.operationTimeoutMs), limits.maxExecutionTimeMs),
      memoryLimitMB: Math.min(num(parent.memoryLimitMB), limits.maxMemoryMB),
    },
    security: {
      enableSandboxing: spec.securityConstraints.sandboxEnabled,
      allowedOperations: spec.securityConstraints.allowedTools,
      maxResourceUsage: { cpuPercent: limits.maxCpuPercent ?? null, memoryMB: limits.maxMemoryMB },
    },
    overrides: spec.configurationOverrides ?? {},
  };
}
