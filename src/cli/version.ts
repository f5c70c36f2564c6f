import { readFileSync } from 'node:fs';
import path from 'node:path';
import { findPackageRoot } from '../subagent/package-root.js';

/** The installed package's version, from its package.json ('unknown' for a broken installation). */
export function packageVersion(): string {
  const root = findPackageRoot(import.meta.dirname);
  if (root.tag === 'failure') return 'unknown';
  const manifest = JSON.parse(readFileSync(path.join(root.value, 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}
