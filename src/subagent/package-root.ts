import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name === 'qicoord') return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`qicoord package root not found above ${start}`);
  }
}

/** The qicoord package root, whether this module runs from src/ (tests) or dist/. */
export const PACKAGE_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Built files a SubAgent child needs. */
export const RUNTIME = {
  /** The child entry: the CommonJS build of sandbox/ (one loader pass fewer than ESM at start-up). */
  bootstrap: path.join(PACKAGE_ROOT, 'dist/cjs/sandbox/bootstrap.js'),
  readPaths: [path.join(PACKAGE_ROOT, 'dist/cjs'), path.join(PACKAGE_ROOT, 'package.json')],
  /** What a plugin needs to import `qicoord/plugin`. */
  pluginApi: [path.join(PACKAGE_ROOT, 'dist/src/plugin'), path.join(PACKAGE_ROOT, 'package.json')],
  builtinPlugins: path.join(PACKAGE_ROOT, 'dist/plugins'),
} as const;
