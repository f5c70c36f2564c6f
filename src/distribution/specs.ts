import type { Config } from '../config/schema.js';
import type { AgentPluginEntry } from '../plugins/registry.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SubTask } from '../schemas/task.js';

/**
 * The SubAgent specification for one subtask (DESIGN A7): the config's `defaults`, narrowed by
 * the subtask's `executionConstraints` — `maxMemory` → `maxMemoryMB`, `allowedTools`,
 * `requiresNetwork: false` → network 'none' (`true` keeps the configured level: a task file
 * cannot widen what the configuration allows) — on the plugin the subtask runs on.
 */
export function specificationFor(subtask: SubTask, plugin: AgentPluginEntry, config: Config, parentAgentId: string): SubAgentSpecification {
  const d = config.defaults;
  const c = subtask.executionConstraints;
  return {
    agentType: plugin.type,
    capabilities: [...plugin.capabilities],
    resourceLimits: {
      ...d.resourceLimits,
      allowedNetworkHosts: [...d.resourceLimits.allowedNetworkHosts],
      ...(c.maxMemory === undefined ? {} : { maxMemoryMB: c.maxMemory }),
    },
    securityConstraints: {
      ...d.securityConstraints,
      allowedTools: [...(c.allowedTools ?? d.securityConstraints.allowedTools)],
      prohibitedOperations: [...d.securityConstraints.prohibitedOperations],
      ...(c.requiresNetwork === false ? { networkAccessLevel: 'none' as const } : {}),
    },
    isolationLevel: d.isolationLevel,
    parentAgentId,
    plugin: plugin.name,
  };
}

/** A stable key of everything that shapes an agent process: subtasks with equal keys may share an agent. */
export function profileKey(spec: SubAgentSpecification): string {
  const { parentAgentId: _parent, configurationOverrides: _overrides, ...profile } = spec;
  return JSON.stringify(profile);
}
