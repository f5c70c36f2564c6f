import { z } from 'zod';
import { AgentType, IsolationLevel } from './common.js';
import { ResourceLimits, SecurityConstraints } from './resources.js';

/** What a SubAgent must be (spec: SubAgentSpecification). */
export const SubAgentSpecification = z.strictObject({
  agentType: AgentType,
  capabilities: z.array(z.string().min(1)).min(1, { error: 'an agent needs at least one capability' }),
  resourceLimits: ResourceLimits,
  securityConstraints: SecurityConstraints,
  isolationLevel: IsolationLevel,
  parentAgentId: z.string().min(1),
  /** Extension: the agent plugin to load; default = the built-in plugin for agentType. */
  plugin: z.string().min(1).optional(),
  configurationOverrides: z.record(z.string(), z.unknown()).optional(),
});
export type SubAgentSpecification = z.output<typeof SubAgentSpecification>;
export type SubAgentSpecificationInput = z.input<typeof SubAgentSpecification>;
