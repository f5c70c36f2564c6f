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

/**
 * A stable key of everything that shapes an agent process: subtasks with equal keys may share
 * an agent.
 */
export function profileKey(spec: SubAgentSpecification): string {
  const { parentAgentId: _parent, configurationOverrides: _overrides, ...profile } = spec;
  return JSON.stringify(profile);
}

/**
 * The profile keys of many specifications. A plan shares one specification object among the
 * subtasks of a profile, so each distinct object is stringified once (the memo lives only for
 * this call).
 */
export function profileKeys(specs: readonly SubAgentSpecification[]): string[] {
  const memo = new Map<SubAgentSpecification, string>();
  return specs.map((spec) => {
    let key = memo.get(spec);
    if (key === undefined) memo.set(spec, (key = profileKey(spec)));
    return key;
  });
}

/**
 * Specifications for all subtasks, computed once per distinct (plugin, executionConstraints)
 * and shared; `profiles[i]` is a short id of subtask i's security profile (equal ids may share
 * an agent).
 */
export function specificationsFor(
  subtasks: readonly SubTask[],
  plugins: readonly AgentPluginEntry[],
  config: Config,
  parentAgentId: string,
): { specs: SubAgentSpecification[]; profiles: string[] } {
  const byKey = new Map<string, { spec: SubAgentSpecification; profile: string }>();
  const byProfile = new Map<string, string>();
  const specs: SubAgentSpecification[] = [];
  const profiles: string[] = [];
  subtasks.forEach((subtask, i) => {
    const plugin = plugins[i]!;
    const key = `${plugin.name}\u0000${JSON.stringify(subtask.executionConstraints)}`;
    let entry = byKey.get(key);
    if (entry === undefined) {
      const spec = specificationFor(subtask, plugin, config, parentAgentId);
      const full = profileKey(spec);
      let profile = byProfile.get(full);
      if (profile === undefined) {
        profile = `p${byProfile.size}`;
        byProfile.set(full, profile);
      }
      entry = { spec, profile };
      byKey.set(key, entry);
    }
    specs.push(entry.spec);
    profiles.push(entry.profile);
  });
  return { specs, profiles };
}
