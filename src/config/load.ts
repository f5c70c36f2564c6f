import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { DEFAULT_CONFIG } from '../../config/defaults.js';
import { qiError } from '../errors/catalogue.js';
import { parseInput } from '../schemas/issues.js';
import { defaultWorkspaceRoot } from '../subagent/workspace.js';
import { deepFreeze, deepMerge } from '../util/objects.js';
import type { Config, ConfigInput } from './schema.js';
import { ConfigSchema } from './schema.js';

/** Every place a config is looked for, in order, in each folder from `cwd` up to the project root. */
export const SEARCH_PLACES = [
  'package.json',
  '.qicoordrc',
  '.qicoordrc.json',
  '.qicoordrc.yaml',
  '.qicoordrc.yml',
  '.qicoordrc.js',
  '.qicoordrc.cjs',
  '.qicoordrc.mjs',
  'qicoord.config.js',
  'qicoord.config.cjs',
  'qicoord.config.mjs',
  'qicoord.config.ts',
] as const;

export interface LoadConfigOptions {
  /** Where the search starts (default: process.cwd()). */
  readonly cwd?: string;
  /** An explicit config file; no search happens. */
  readonly configPath?: string;
}

/** The share of the machine's memory `maxTotalMemory: "auto"` resolves to. */
export const AUTO_MEMORY_SHARE = 0.5;

function isPathLike(entry: string): boolean {
  return entry.startsWith('.') || path.isAbsolute(entry);
}

/**
 * Validates a config object (a file's contents, or one a host passes in), merges it over the
 * defaults, resolves "auto"/null values and relative paths (against `dir`), and freezes it.
 */
export function resolveConfig(input: unknown, source: { filepath: string | null; dir: string }): Result<Config, QiError> {
  const merged = deepMerge(DEFAULT_CONFIG, input ?? {});
  const what = source.filepath === null ? 'configuration' : `config file ${source.filepath}`;
  const parsed = parseInput(ConfigSchema, merged, { code: 'INVALID_CONFIG', what, context: { filepath: source.filepath } });
  if (parsed.tag === 'failure') return parsed;
  const c = parsed.value;
  const abs = (p: string): string => path.resolve(source.dir, p);
  const config: Config = {
    ...c,
    plugins: c.plugins.map((p) => (isPathLike(p) ? abs(p) : p)),
    resources: {
      ...c.resources,
      maxTotalMemory:
        c.resources.maxTotalMemory === 'auto'
          ? Math.floor((os.totalmem() / 1024 / 1024) * AUTO_MEMORY_SHARE)
          : c.resources.maxTotalMemory,
    },
    sandbox: {
      ...c.sandbox,
      workspaceRoot: c.sandbox.workspaceRoot === null ? defaultWorkspaceRoot() : abs(c.sandbox.workspaceRoot),
      readPaths: c.sandbox.readPaths.map(abs),
      writePaths: c.sandbox.writePaths.map(abs),
      nodePath:
        c.sandbox.nodePath === null
          ? process.execPath
          : c.sandbox.nodePath.includes('/')
            ? abs(c.sandbox.nodePath)
            : c.sandbox.nodePath,
    },
    journal: c.journal === false || c.journal.dir === null ? c.journal : { dir: abs(c.journal.dir) },
    probeCache: c.probeCache === false || c.probeCache.file === null ? c.probeCache : { file: abs(c.probeCache.file) },
    source,
  };
  return success(deepFreeze(config));
}

/** The built-in defaults, resolved (no file read). */
export function defaultConfig(cwd: string = process.cwd()): Config {
  const r = resolveConfig({}, { filepath: null, dir: cwd });
  if (r.tag === 'failure') throw new Error(`built-in defaults are invalid: ${r.error.message}`);
  return r.value;
}

function readError(filepath: string, e: unknown): QiError {
  const reason = e instanceof Error ? e.message : String(e);
  return qiError('INVALID_CONFIG', `config file ${filepath} could not be read: ${reason}`, {
    filepath,
    issues: [{ path: '(file)', message: reason }],
  });
}

/** True when `dir`'s package.json could hold a config: it has a `qicoord` key, or it does not parse (cosmiconfig reports that). */
function packageJsonMayConfigure(file: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === undefined;
  }
  return typeof parsed === 'object' && parsed !== null && Object.hasOwn(parsed, 'qicoord');
}

/**
 * Whether the search from `cwd` could find a config at all: any of {@link SEARCH_PLACES} exists
 * in a folder from `cwd` up to the first holding a package.json/package.yaml (cosmiconfig's
 * `project` strategy). When none does, cosmiconfig (and the YAML parser it brings) is never
 * loaded: most runs have no config file, and a coordinator should not carry its loaders for nothing.
 */
function mayFindConfig(cwd: string): boolean {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    for (const place of SEARCH_PLACES) {
      const file = path.join(dir, place);
      if (place === 'package.json' ? existsSync(file) && packageJsonMayConfigure(file) : existsSync(file)) return true;
    }
    if (existsSync(path.join(dir, 'package.json')) || existsSync(path.join(dir, 'package.yaml')) || path.dirname(dir) === dir) return false;
  }
}

/**
 * Finds and loads the configuration (cosmiconfig, module name `qicoord`): an explicit
 * `configPath`, else the first of {@link SEARCH_PLACES} from `cwd` up to the project root,
 * else the built-in defaults. cosmiconfig is imported only when there is a file to load.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Result<Config, QiError>> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  if (options.configPath === undefined && !mayFindConfig(cwd)) return resolveConfig({}, { filepath: null, dir: cwd });
  const { cosmiconfig } = await import('cosmiconfig');
  const explorer = cosmiconfig('qicoord', { searchPlaces: [...SEARCH_PLACES], searchStrategy: 'project', cache: false });
  if (options.configPath !== undefined) {
    const filepath = path.resolve(cwd, options.configPath);
    if (!existsSync(filepath)) {
      return failure(qiError('INVALID_CONFIG', `config file ${filepath} does not exist`, { filepath, issues: [] }));
    }
    try {
      const found = await explorer.load(filepath);
      return resolveConfig(found?.config as ConfigInput | undefined, { filepath, dir: path.dirname(filepath) });
    } catch (e) {
      return failure(readError(filepath, e));
    }
  }
  let found: { config: unknown; filepath: string; isEmpty?: boolean } | null;
  try {
    found = await explorer.search(cwd);
  } catch (e) {
    const filepath = (e as { filepath?: string }).filepath ?? cwd;
    return failure(readError(filepath, e));
  }
  if (found === null) return resolveConfig({}, { filepath: null, dir: cwd });
  return resolveConfig(found.config, { filepath: found.filepath, dir: path.dirname(found.filepath) });
}
