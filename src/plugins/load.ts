import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { qiError } from '../errors/catalogue.js';
import type { StrategyPlugin } from '../plugin/strategy-types.js';
import { parseInput } from '../schemas/issues.js';
import type { PluginInfo } from '../subagent/instance.js';
import { runtimePaths } from '../subagent/package-root.js';
import { PluginProbeCache, probeSettingsKey } from './probe-cache.js';
import type { PluginOrigin } from './registry.js';
import { PluginRegistry } from './registry.js';

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: 'must be a function' });

/** What a strategy plugin module must export (checked when it is registered). */
const StrategyShape = z.object({
  name: z.string().min(1).max(200),
  kind: z.literal('strategy'),
  description: z.string().optional(),
  plan: fn,
  createScheduler: fn,
});

export interface LoadPluginsOptions {
  readonly config: Config;
  /** Loads an agent plugin in a sandboxed child and returns what it says about itself. */
  readonly probe: (file: string) => Promise<Result<PluginInfo, QiError>>;
  /** Earlier probes (per file version and settings); default: a fresh cache for this load. */
  readonly cache?: PluginProbeCache;
}

/** Probes an agent plugin once per file version and settings, through the caller's cache. */
type ProbeOnce = (file: string) => Promise<Result<PluginInfo, QiError>>;

function probeThrough(options: LoadPluginsOptions): ProbeOnce {
  const cache = options.cache ?? new PluginProbeCache();
  const settings = probeSettingsKey(options.config);
  return (file) => cache.probe(file, settings, options.probe);
}

function jsFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** Imports a strategy plugin (coordinator side) and checks its shape. */
async function importStrategy(file: string): Promise<Result<StrategyPlugin | undefined, QiError>> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    return failure(qiError('PLUGIN_INVALID', `plugin ${file} failed to import: ${e instanceof Error ? e.message : String(e)}`, { path: file }));
  }
  const candidate = mod.default;
  if (typeof candidate !== 'object' || candidate === null || (candidate as { kind?: unknown }).kind !== 'strategy') return success(undefined);
  const parsed = parseInput(StrategyShape, candidate, { code: 'PLUGIN_INVALID', what: `strategy plugin ${file}`, root: 'plugin', context: { path: file } });
  return parsed.tag === 'failure' ? parsed : success(candidate as StrategyPlugin);
}

/** A config `plugins` entry as a file: paths as they are, package names resolved from the config's folder. */
function resolveEntry(entry: string, dir: string): Result<string, QiError> {
  if (path.isAbsolute(entry)) return success(entry);
  try {
    return success(createRequire(path.join(dir, 'package.json')).resolve(entry));
  } catch (e) {
    // Node's message names a 'Require stack' of a package.json that may not exist: say what is meant instead.
    const code = (e as NodeJS.ErrnoException).code;
    const relative = entry.startsWith('.');
    const reason =
      code === 'MODULE_NOT_FOUND'
        ? relative
          ? `${path.resolve(dir, entry)} does not exist. Fix: correct the path (relative to ${dir})`
          : `it is not installed in ${dir} or a parent folder. Fix: npm install ${entry}, or list the plugin by its path`
        : `${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
    return failure(qiError('FILE_NOT_FOUND', `plugin '${entry}' (in the config's plugins) cannot be found: ${reason}`, { path: entry, dir }));
  }
}

async function registerFile(registry: PluginRegistry, file: string, origin: PluginOrigin, probeOnce: ProbeOnce): Promise<void> {
  if (!existsSync(file)) {
    registry.problems.push({ path: file, origin, error: qiError('FILE_NOT_FOUND', `plugin ${file} (listed in ${origin}) does not exist`, { path: file }) });
    return;
  }
  const info = await probeOnce(file);
  if (info.tag === 'success') {
    registry.add({ ...info.value, kind: 'agent', path: file, origin });
    return;
  }
  if (info.error.code !== 'PLUGIN_KIND') {
    registry.problems.push({ path: file, origin, error: info.error });
    return;
  }
  const strategy = await importStrategy(file);
  if (strategy.tag === 'failure') registry.problems.push({ path: file, origin, error: strategy.error });
  else if (strategy.value !== undefined) {
    registry.add({ kind: 'strategy', name: strategy.value.name, description: strategy.value.description, plugin: strategy.value, path: file, origin });
  } else {
    registry.problems.push({ path: file, origin, error: qiError('PLUGIN_INVALID', `plugin ${file} is a ${String(info.error.context['kind'])} plugin; only agent and strategy plugins are supported`, { path: file }) });
  }
}

/**
 * Loads every plugin: built-in agents (`plugins/agents`) and strategies (`plugins/strategies`),
 * then the config's `plugins` in order. Agent plugins are probed in a sandboxed child — their
 * code never runs in the coordinator; strategy plugins are imported here. A plugin that fails to
 * import, has the wrong shape or a taken name is recorded in `registry.problems` with its path;
 * the others load regardless.
 */
export async function loadPlugins(options: LoadPluginsOptions): Promise<PluginRegistry> {
  const registry = new PluginRegistry();
  const probeOnce = probeThrough(options);
  const runtime = runtimePaths();
  if (runtime.tag === 'failure') {
    registry.problems.push({ path: '(qicoord installation)', origin: 'builtin', error: runtime.error });
    return registry;
  }
  const builtins = runtime.value.builtinPlugins;
  const agents = jsFiles(path.join(builtins, 'agents'));
  const infos = await Promise.all(agents.map((file) => probeOnce(file)));
  agents.forEach((file, i) => {
    const info = infos[i]!;
    if (info.tag === 'success') registry.add({ ...info.value, kind: 'agent', path: file, origin: 'builtin' });
    else registry.problems.push({ path: file, origin: 'builtin', error: info.error });
  });
  for (const file of jsFiles(path.join(builtins, 'strategies'))) {
    const strategy = await importStrategy(file);
    if (strategy.tag === 'failure') registry.problems.push({ path: file, origin: 'builtin', error: strategy.error });
    else if (strategy.value !== undefined) {
      registry.add({ kind: 'strategy', name: strategy.value.name, description: strategy.value.description, plugin: strategy.value, path: file, origin: 'builtin' });
    }
  }
  const origin = options.config.source.filepath ?? 'configuration';
  for (const entry of options.config.plugins) {
    const file = resolveEntry(entry, options.config.source.dir);
    if (file.tag === 'failure') registry.problems.push({ path: entry, origin, error: file.error });
    else await registerFile(registry, file.value, origin, probeOnce);
  }
  return registry;
}
