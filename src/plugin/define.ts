import type { StrategyPlugin } from './strategy-types.js';
import type { AgentPlugin } from './types.js';

/**
 * Declares an agent plugin. A typed identity: it returns its argument, so a plain object with the
 * same fields works as well; the loader validates either when it registers the plugin.
 */
export function defineAgent<const P extends AgentPlugin>(plugin: P): P {
  return plugin;
}

/** Declares a strategy plugin (a typed identity, like {@link defineAgent}). */
export function defineStrategy<const S extends StrategyPlugin>(strategy: S): S {
  return strategy;
}
