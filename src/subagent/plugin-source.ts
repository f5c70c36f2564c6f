import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import { RUNTIME } from './package-root.js';

/** Where an agent plugin lives and what the child must be able to read to import it. */
export interface PluginSource {
  readonly path: string;
  readonly readPaths: readonly string[];
}

/** Maps a specification to its plugin module. The plugin registry supplies one; this is the fallback. */
export type PluginResolver = (spec: SubAgentSpecification) => Result<PluginSource, QiError>;

/** The dirs a plugin file needs: its own dir, every `node_modules` on its resolution path, and `qicoord/plugin`. */
export function pluginReadPaths(file: string): string[] {
  const dir = path.dirname(file);
  const paths = [dir, ...RUNTIME.pluginApi];
  for (let d = dir; ; d = path.dirname(d)) {
    const modules = path.join(d, 'node_modules');
    if (existsSync(modules)) paths.push(realpathSync(modules));
    if (path.dirname(d) === d) break;
  }
  return paths;
}

/** A plugin given by file path. */
export function pluginFromFile(file: string): Result<PluginSource, QiError> {
  if (!existsSync(file) || !statSync(file).isFile()) {
    return failure(qiError('FILE_NOT_FOUND', `agent plugin ${file} does not exist`, { path: file }));
  }
  const real = realpathSync(file);
  return success({ path: real, readPaths: pluginReadPaths(real) });
}

/**
 * Without a registry: `spec.plugin` as a file path (absolute or relative to the working dir) or
 * the name of a built-in plugin in `plugins/agents/`; else the built-in plugin for the agent type.
 */
export const defaultPluginResolver: PluginResolver = (spec) => {
  const name = spec.plugin ?? spec.agentType;
  if (path.isAbsolute(name) || name.startsWith('.')) return pluginFromFile(path.resolve(name));
  return pluginFromFile(path.join(RUNTIME.builtinPlugins, 'agents', `${name}.js`));
};
