import type { AgentPlugin } from './types.js';

/**
 * Declares an agent plugin. A typed identity: it returns its argument, so a plain object with the
 * same fields works as well; the loader validates either when it registers the plugin.
 */
export function defineAgent<const P extends AgentPlugin>(plugin: P): P {
  return plugin;
}
