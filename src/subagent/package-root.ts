import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

/** The nearest folder at or above `start` whose package.json is named `qicoord`. */
export function findPackageRoot(start: string): Result<string, QiError> {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
        if (name === 'qicoord') return success(dir);
      } catch {
        // Not a readable manifest: keep looking above.
      }
    }
    if (path.dirname(dir) === dir) {
      return failure(qiError('SANDBOX_UNAVAILABLE', `the qicoord package root (a package.json named "qicoord") was not found above ${start}; reinstall qicoord`, { start }));
    }
  }
}

/** The installed package's version, from its package.json ('unknown' for a broken installation). */
export function packageVersion(start: string = path.dirname(fileURLToPath(import.meta.url))): string {
  const root = findPackageRoot(start);
  if (root.tag === 'failure') return 'unknown';
  try {
    const manifest = JSON.parse(readFileSync(path.join(root.value, 'package.json'), 'utf8')) as { version?: string };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Built files a SubAgent child needs, under a package root. */
export interface RuntimePaths {
  /**
   * The child entry: the CommonJS build of sandbox/ bundled into one file (scripts/bundle-sandbox.mjs):
   * one loader pass fewer than ESM, and one file to resolve, read and check instead of fourteen.
   */
  readonly bootstrap: string;
  readonly readPaths: readonly string[];
  /** What a plugin needs to import `qicoord/plugin`. */
  readonly pluginApi: readonly string[];
  readonly builtinPlugins: string;
}

export function runtimePathsUnder(root: string): RuntimePaths {
  return {
    bootstrap: path.join(root, 'dist/cjs/sandbox/agent.cjs'),
    readPaths: [path.join(root, 'dist/cjs'), path.join(root, 'package.json')],
    pluginApi: [path.join(root, 'dist/src/plugin'), path.join(root, 'package.json')],
    builtinPlugins: path.join(root, 'dist/plugins'),
  };
}

/** The runtime paths of this installation, whether this module runs from src/ (tests) or dist/. */
export function runtimePaths(): Result<RuntimePaths, QiError> {
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  return root.tag === 'failure' ? root : success(runtimePathsUnder(root.value));
}

function resolved(): RuntimePaths {
  const paths = runtimePaths();
  if (paths.tag === 'failure') throw new Error(paths.error.message);
  return paths.value;
}

/**
 * The runtime paths, resolved when first read (never at import: a broken installation is
 * reported by {@link runtimePaths} as a Result where it matters — the factory checks it before
 * any spawn, the plugin loader before loading). Kept for the modules that read single paths.
 */
export const RUNTIME: RuntimePaths = {
  get bootstrap() {
    return resolved().bootstrap;
  },
  get readPaths() {
    return resolved().readPaths;
  },
  get pluginApi() {
    return resolved().pluginApi;
  },
  get builtinPlugins() {
    return resolved().builtinPlugins;
  },
};
