import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { StrategyPlugin } from '../plugin/strategy-types.js';
import type { PluginInfo } from '../subagent/instance.js';
import type { PluginResolver } from '../subagent/plugin-source.js';
import { pluginFromFile } from '../subagent/plugin-source.js';

/** Where a plugin came from: `builtin`, or the config file that listed it. */
export type PluginOrigin = string;

/** An agent plugin: it only ever runs inside SubAgent children; this is what it said at load. */
export interface AgentPluginEntry extends PluginInfo {
  readonly kind: 'agent';
  readonly path: string;
  readonly origin: PluginOrigin;
}

/** A strategy plugin, loaded into the coordinator. */
export interface StrategyPluginEntry {
  readonly kind: 'strategy';
  readonly name: string;
  readonly description?: string | undefined;
  readonly plugin: StrategyPlugin;
  readonly path: string;
  readonly origin: PluginOrigin;
}

export type PluginEntry = AgentPluginEntry | StrategyPluginEntry;

/** A plugin that could not be registered, and why. */
export interface PluginProblem {
  readonly path: string;
  readonly origin: PluginOrigin;
  readonly error: QiError;
}

/** The loaded plugins. Names are unique across kinds; a duplicate is refused, naming both sources. */
export class PluginRegistry {
  private readonly agents = new Map<string, AgentPluginEntry>();
  private readonly strategies = new Map<string, StrategyPluginEntry>();
  readonly problems: PluginProblem[] = [];

  /** Registers an entry; a taken name is a problem (the first registration stays). */
  add(entry: PluginEntry): Result<void, QiError> {
    const taken = this.agents.get(entry.name) ?? this.strategies.get(entry.name);
    if (taken !== undefined) {
      const error = qiError('PLUGIN_INVALID', `plugin name '${entry.name}' from ${entry.path} (${entry.origin}) is already taken by ${taken.path} (${taken.origin}); rename one of them`, {
        name: entry.name,
        path: entry.path,
        existing: taken.path,
      });
      this.problems.push({ path: entry.path, origin: entry.origin, error });
      return failure(error);
    }
    if (entry.kind === 'agent') this.agents.set(entry.name, entry);
    else this.strategies.set(entry.name, entry);
    return success(undefined);
  }

  /**
   * The problem that most likely explains a missing plugin: an environment failure (the sandbox
   * could not start the probe: SYSTEM category) before a bad plugin, in load order.
   */
  blockingProblem(): PluginProblem | undefined {
    return this.problems.find((p) => p.error.category === 'SYSTEM') ?? this.problems[0];
  }

  agent(name: string): AgentPluginEntry | undefined {
    return this.agents.get(name);
  }

  strategy(name: string): StrategyPluginEntry | undefined {
    return this.strategies.get(name);
  }

  listAgents(): AgentPluginEntry[] {
    return [...this.agents.values()];
  }

  listStrategies(): StrategyPluginEntry[] {
    return [...this.strategies.values()];
  }

  /**
   * The agent plugin for a subtask (DESIGN A5): the one it names, else the first registered
   * plugin whose capabilities cover all required ones (built-ins first, then config order).
   */
  agentFor(name: string | undefined, capabilities: readonly string[]): AgentPluginEntry | undefined {
    if (name !== undefined) return this.agents.get(name);
    return [...this.agents.values()].find((a) => capabilities.every((c) => a.capabilities.includes(c)));
  }

  /** A resolver for the SubAgent factory: `spec.plugin` as a registered name or a file path; else the plugin named like the agent type. */
  resolver(): PluginResolver {
    return (spec) => {
      const name = spec.plugin ?? spec.agentType;
      const entry = this.agents.get(name);
      if (entry !== undefined) return pluginFromFile(entry.path);
      if (name.startsWith('/') || name.startsWith('.')) return pluginFromFile(name);
      return failure(qiError('PLUGIN_INVALID', `no agent plugin named '${name}'; registered: ${[...this.agents.keys()].join(', ') || 'none'}`, { name }));
    };
  }
}
