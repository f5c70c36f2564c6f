import type { QiError, Result } from '@qi/base';
import type { Config } from '../config/schema.js';
import type { IsolationLevel } from '../schemas/common.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import { planLaunch } from '../subagent/launch.js';
import { RUNTIME } from '../subagent/package-root.js';
import type { HostCapabilities, LaunchPlan } from '../subagent/types.js';

export const LEVELS: readonly IsolationLevel[] = ['sandbox', 'restricted', 'monitored'];

/** The config defaults as a specification (what doctor checks an agent against). */
export function defaultSpecification(config: Config, level: IsolationLevel = config.defaults.isolationLevel): SubAgentSpecification {
  const d = config.defaults;
  return {
    agentType: d.agentType,
    capabilities: ['doctor'],
    resourceLimits: { ...d.resourceLimits, allowedNetworkHosts: [...d.resourceLimits.allowedNetworkHosts] },
    securityConstraints: { ...d.securityConstraints, allowedTools: [...d.securityConstraints.allowedTools], prohibitedOperations: [...d.securityConstraints.prohibitedOperations] },
    isolationLevel: level,
    parentAgentId: 'qicoord-cli',
  };
}

/**
 * What the launch planner (the same pure function the factory calls) would do for `spec` on
 * `host` with this config. Paths that do not change the choice of layers (workspace, plugin) are
 * stand-ins.
 */
export function planFor(config: Config, host: HostCapabilities, spec: SubAgentSpecification, onUnavailable: Config['sandbox']['onUnavailable'] = config.sandbox.onUnavailable): Result<LaunchPlan, QiError> {
  return planLaunch({
    spec,
    host,
    nodePath: config.sandbox.nodePath,
    bootstrapPath: RUNTIME.bootstrap,
    runtimeReadPaths: RUNTIME.readPaths,
    pluginReadPaths: RUNTIME.pluginApi,
    workspace: config.sandbox.workspaceRoot,
    extraReadPaths: config.sandbox.readPaths,
    extraWritePaths: config.sandbox.writePaths,
    env: {},
    networkIsolation: config.sandbox.networkIsolation,
    onUnavailable,
  });
}

/** One lane whose agents will run below the level they asked for. */
export interface Downgrade {
  readonly lane: string;
  readonly plugin: string;
  readonly downgradedFrom: IsolationLevel;
  readonly isolationLevel: IsolationLevel;
  readonly reason: string;
}

/** The lanes of a plan that `sandbox.onUnavailable: downgrade` will lower on this host. */
export function plannedDowngrades(config: Config, host: HostCapabilities, lanes: readonly { agentId: string; plugin: string; specification: SubAgentSpecification }[]): Downgrade[] {
  const out: Downgrade[] = [];
  for (const lane of lanes) {
    const plan = planFor(config, host, lane.specification);
    if (plan.tag === 'success' && plan.value.downgradedFrom !== undefined) {
      out.push({ lane: lane.agentId, plugin: lane.plugin, downgradedFrom: plan.value.downgradedFrom, isolationLevel: plan.value.isolationLevel, reason: plan.value.downgradeReason ?? '' });
    }
  }
  return out;
}
